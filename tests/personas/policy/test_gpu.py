"""On a CUDA GPU: the tiny model trains in bf16 with activation checkpointing and the adapter serves from the GPU."""

from __future__ import annotations

import pytest

from personas.policy import SimplePersona, load_policy
from personas.policy.dataset import DatasetConfig, build_dataset
from personas.policy.inference import LocalVLMPolicy, PolicyRequest
from personas.policy.training import PersonaGRPOConfig, PersonaSFTConfig, train_grpo, train_sft
from recorder.feed import Observation
from recorder.store import read_trace
from tests.builders import T0
from tests.personas.policy.conftest import write_image_traces

pytestmark = pytest.mark.gpu


def test_tiny_policy_trains_and_serves_on_the_gpu(tmp_path):
    import numpy as np
    import torch

    assert torch.cuda.is_available()
    folders = write_image_traces(tmp_path / "traces", sessions=1, views=12)
    build_dataset([read_trace(f) for f in folders], folders, tmp_path / "ds", config=DatasetConfig(frames=1))
    common = dict(dataset=str(tmp_path / "ds"), train_on="cuda", lora_r=4, lora_alpha=8, max_train_rows=4, seed=1)
    sft_cfg = PersonaSFTConfig(output_dir=str(tmp_path / "sft"), max_steps=2, learning_rate=3e-2, **common)
    assert sft_cfg.bf16 and sft_cfg.activation_checkpointing and not sft_cfg.use_cpu
    sft = train_sft(sft_cfg)
    assert sft.lora_change > 0
    grpo = train_grpo(PersonaGRPOConfig(output_dir=str(tmp_path / "grpo"), model=str(sft.adapter), max_steps=1,
                                        per_device_train_batch_size=16, num_generations=8, generation_batch_size=16,
                                        max_completion_length=16, learning_rate=3e-2, **common))
    assert grpo.lora_change > 0
    policy = load_policy(str(grpo.adapter), SimplePersona("P07"), device="cuda", max_new_tokens=8)
    assert isinstance(policy, LocalVLMPolicy) and policy.model.device.type == "cuda"
    frame = np.full((48, 64, 3), 90, dtype=np.uint8)
    decisions = policy.act_batch([PolicyRequest(SimplePersona("P07"), Observation(i, T0, frame=frame), [])
                                  for i in range(4)])
    assert len(decisions) == 4 and policy.stats.calls == 4
