"""SFT and GRPO on a tiny random Qwen2.5-VL (built in code, no hub): LoRA weights change, adapters load, merge
works, and the trained adapter drives a 20-step sandbox audit through audit.runner as a Policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from personas.models.training import lora_state
from personas.policy import Decision, SimplePersona, load_policy
from personas.policy.dataset import DatasetConfig, build_dataset
from personas.policy.inference import LocalVLMPolicy, PolicyRequest
from personas.policy.training import (
    PersonaGRPOConfig,
    PersonaSFTConfig,
    TrainingError,
    merge_adapter,
    train_grpo,
    train_sft,
)
from recorder.feed import Observation, VirtualClock
from recorder.store import read_trace
from tests.builders import T0, make_header
from tests.personas.policy.conftest import write_image_traces

# 16 sampled completions of a random model: some hold grammar landmarks (format reward > 0), others not, so
# GRPO's group advantages are non-zero and one step must move the new LoRA.
TINY_LORA = dict(lora_r=4, lora_alpha=8, max_train_rows=4, seed=1, learning_rate=3e-2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("policy-train")
    folders = write_image_traces(root / "traces", sessions=1, views=12)
    build_dataset([read_trace(f) for f in folders], folders, root / "ds",
                  config=DatasetConfig(frames=1, max_pixels=56 * 56, history_len=2))
    sft_cfg = PersonaSFTConfig(output_dir=str(root / "sft"), dataset=str(root / "ds"), max_steps=4,
                               per_device_train_batch_size=2, gradient_accumulation_steps=1, save_steps=2,
                               **TINY_LORA)
    sft = train_sft(sft_cfg)
    grpo_cfg = PersonaGRPOConfig(output_dir=str(root / "grpo"), dataset=str(root / "ds"), model=str(sft.adapter),
                                 max_steps=1, per_device_train_batch_size=16, num_generations=8,
                                 generation_batch_size=16, max_completion_length=16, **TINY_LORA)
    return {"root": root, "sft": sft, "grpo": train_grpo(grpo_cfg), "sft_cfg": sft_cfg}


def test_sft_changes_lora_weights_and_saves_a_loadable_adapter(trained):
    sft = trained["sft"]
    assert sft.steps == 4 and sft.lora_change > 0 and sft.samples_per_s > 0
    assert (sft.adapter / "adapter_config.json").is_file() and any(entry.get("loss") for entry in sft.log)
    policy = load_policy(str(sft.adapter), SimplePersona("P07"), max_new_tokens=8)
    assert isinstance(policy, LocalVLMPolicy)
    names = list(lora_state(policy.model))
    assert names and all("language_model" in n for n in names)  # LoRA on the language model only
    with pytest.raises(TrainingError, match="--resume"):
        train_sft(trained["sft_cfg"])  # checkpoints exist: never silently overwritten


def test_grpo_step_changes_the_new_lora_and_logs_each_reward(trained):
    grpo = trained["grpo"]
    assert grpo.steps == 1 and grpo.lora_change > 0
    logged = grpo.log[0]
    for name in ("action_reward", "duration_reward", "format_reward"):
        assert f"rewards/{name}/mean" in logged
    assert (trained["root"] / "grpo" / "base-merged" / "config.json").is_file()  # GRPO trains on the merged SFT model


def test_merge_writes_a_full_model_that_serves_batched(trained):
    merged = merge_adapter(trained["grpo"].adapter, trained["root"] / "merged")
    policy = load_policy(str(merged), SimplePersona("P07"), max_new_tokens=8, batch_size=2)
    assert isinstance(policy, LocalVLMPolicy)
    import numpy as np

    frame = np.full((40, 60, 3), 120, dtype=np.uint8)
    requests = [PolicyRequest(SimplePersona("P07"), Observation(i, T0, frame=frame if i % 2 else None), [])
                for i in range(3)]
    decisions = policy.act_batch(requests)
    assert len(decisions) == 3 and all(isinstance(d, Decision) and d.latency_s > 0 for d in decisions)
    assert policy.stats.calls == 3  # random weights: replies are counted, unparseable ones fall back
    with pytest.raises(TrainingError, match="not empty"):
        merge_adapter(trained["grpo"].adapter, trained["root"] / "merged")


def test_adapter_drives_a_20_step_sandbox_audit(trained, tmp_path):
    from audit.runner import run_session
    from sandbox.config import SandboxConfig
    from sandbox.feed import SandboxFeed
    from sandbox.platform import Platform

    platform = Platform(SandboxConfig(users=40, creators=8, steps=1, seed=2))
    platform.run()
    feed = SandboxFeed(platform, "audit", clock=VirtualClock(T0))
    persona = SimplePersona("P07")
    policy = load_policy(str(trained["grpo"].adapter), persona, max_new_tokens=8)
    stats = run_session(feed, policy, persona, 20, tmp_path / "audit", header=make_header("agent", recorded_by="agent"),
                        seed=1)
    trace = read_trace(Path(stats.folder))
    assert stats.steps == 20 and len(trace.steps) == 20
    assert policy.stats.calls >= 20 - stats.incidents.ads - stats.incidents.lives


def test_adapter_is_evaluated_on_recorded_frames(trained):
    from personas.evaluation import EvaluationConfig, evaluate
    from recorder.store import find_trace_folders

    folders = find_trace_folders([trained["root"] / "traces"])
    adapter = str(trained["sft"].adapter)
    result = evaluate([read_trace(f) for f in folders], EvaluationConfig(llm_max_views=2),
                      ["training_median", adapter, adapter + "#no-persona"], folders=folders)
    ours = result.row("all", adapter)
    assert ours["n"] == 1 and 0.0 <= ours["format_failure_rate"]["mean"] <= 1.0  # 12 views: one test view
    table3 = {t["variant"]: t["method"] for t in result.to_dict()["tables"]["table3"]}
    assert table3["Ours"] == adapter and table3["-Persona"] == adapter + "#no-persona"
