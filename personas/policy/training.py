"""SFT then GRPO of the persona policy (Qwen2.5-VL + LoRA on the language model) with TRL, and adapter merging.

`PersonaSFTConfig` / `PersonaGRPOConfig` extend TRL's SFTConfig / GRPOConfig with the model, dataset, LoRA and
device options; their defaults are the paper's values (SFT: LoRA rank 64, alpha 128, lr 1e-5, batch 1, gradient
accumulation 2; GRPO: new LoRA rank 8, alpha 32 on the merged SFT model, 8 generations, temperature 1.0,
beta 0.01), shipped as YAML in `personas/policy/configs/`. On a GPU runs use bf16 and gradient checkpointing;
on the CPU fp32 (tests, smoke runs). `model: tiny` builds a random tiny Qwen2.5-VL in code (no hub).
Each run writes `<output_dir>/checkpoint-*` (resumable with resume=True), `<output_dir>/adapter` (the LoRA
adapter + processor) and `<output_dir>/train_result.json`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trl import GRPOConfig, SFTConfig

from personas.models.training import TINY, bf16_ok, build_tiny_qwen_vl, lora_change, lora_state, use_cpu
from personas.policy.dataset import load_policy_dataset
from recorder.errors import PersonaActError

# LoRA goes on the language model's projections only; the vision tower stays frozen.
LANGUAGE_MODEL_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
CONFIG_DIR = Path(__file__).parent / "configs"


class TrainingError(RuntimeError, PersonaActError):
    """A training run cannot start or continue; the message names the option or folder."""


@dataclass
class _PolicyTrainOptions:
    """Options both trainers add to TRL's: what to train on, LoRA shape, device."""

    model: str = TINY  # local Qwen2.5-VL folder (or an adapter folder: merged first), or 'tiny'
    dataset: str = ""  # a folder written by `personaact train build-dataset`
    lora_r: int = 64
    lora_alpha: int = 128
    lora_dropout: float = 0.05
    lora_targets: str = LANGUAGE_MODEL_TARGETS
    train_on: str = "auto"  # auto | cpu | cuda (TrainingArguments already has a read-only `device`)
    max_train_rows: int = 0  # 0: all; else the first N training rows (smoke runs, benchmarks)

    def _setup_device(self) -> None:
        cpu = use_cpu(self.train_on, "train_on")
        # bf16 and activation checkpointing on a GPU only; TRL's own fields, set before its __post_init__ runs
        for name, value in (("use_cpu", cpu), ("bf16", bf16_ok(cpu)), ("activation_checkpointing", not cpu)):
            setattr(self, name, value)


@dataclass
class PersonaSFTConfig(SFTConfig, _PolicyTrainOptions):
    """SFTConfig with the policy's options; defaults are the paper's SFT settings."""

    output_dir: str | None = "runs/policy-sft"
    learning_rate: float = 1e-5
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 2
    num_train_epochs: float = 1.0
    max_length: int | None = None  # never truncate VLM inputs: cutting image tokens breaks the forward pass
    logging_steps: float = 1
    save_steps: float = 200
    save_total_limit: int | None = 2
    report_to: Any = "none"
    disable_tqdm: bool = True
    model_init_kwargs: Any = None
    dataset_kwargs: Any = field(default_factory=lambda: {"skip_prepare_dataset": False})

    def __post_init__(self) -> None:
        self._setup_device()
        super().__post_init__()


@dataclass
class PersonaGRPOConfig(GRPOConfig, _PolicyTrainOptions):
    """GRPOConfig with the policy's options; defaults are the paper's GRPO settings."""

    output_dir: str | None = "runs/policy-grpo"
    lora_r: int = 8
    lora_alpha: int = 32
    learning_rate: float = 1e-6
    per_device_train_batch_size: int = 8
    num_generations: int | None = 8
    generation_batch_size: int | None = 8  # must be a multiple of num_generations
    temperature: float = 1.0
    beta: float = 0.01
    max_completion_length: int | None = 64  # a reply is ~25 tokens of JSON
    logging_steps: float = 1
    save_steps: float = 100
    save_total_limit: int | None = 2
    report_to: Any = "none"
    disable_tqdm: bool = True
    log_completions: bool = False

    def __post_init__(self) -> None:
        self._setup_device()
        if self.generation_batch_size and self.num_generations and self.generation_batch_size % self.num_generations:
            raise TrainingError(f"generation_batch_size ({self.generation_batch_size}) must be a multiple of "
                                f"num_generations ({self.num_generations})")
        super().__post_init__()


@dataclass(frozen=True)
class TrainRun:
    """What a run produced."""

    adapter: Path
    steps: int
    lora_change: float
    samples_per_s: float
    log: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"adapter": str(self.adapter), "steps": self.steps, "lora_change": self.lora_change,
                "samples_per_s": self.samples_per_s, "log": list(self.log)}


def train_sft(config: PersonaSFTConfig, resume: bool = False, progress: Callable[[int], None] | None = None,
              loaded: tuple[Any, Any] | None = None) -> TrainRun:
    """Supervised fine-tuning on the dataset's train split (completion-only loss); saves the LoRA adapter.
    `loaded` = (model, processor) already in memory (benchmarks) instead of `config.model`."""
    from trl import SFTTrainer

    _check_output(config, resume)
    data = _training_rows(config, drop=("watch_s", "like", "comment", "share", "persona_id", "trace_id",
                                        "step_index", "prompt_version"))
    model, processor = loaded or load_model(resolve_model(config, data), config)
    trainer = SFTTrainer(model=model, args=config, train_dataset=data, processing_class=processor,
                         peft_config=_lora(config), callbacks=_callbacks(progress))
    return _run(trainer, config, processor, resume, len(data))


def train_grpo(config: PersonaGRPOConfig, resume: bool = False, progress: Callable[[int], None] | None = None,
               loaded: tuple[Any, Any] | None = None) -> TrainRun:
    """GRPO with the action, duration and format rewards (logged separately); saves the new LoRA adapter."""
    from trl import GRPOTrainer

    from personas.policy.rewards import REWARD_FUNCTIONS

    _check_output(config, resume)
    data = _training_rows(config, drop=("completion",))
    model, processor = loaded or load_model(resolve_model(config, data), config)
    rewards: list[Any] = list(REWARD_FUNCTIONS)
    trainer = GRPOTrainer(model=model, reward_funcs=rewards, args=config, train_dataset=data,
                          processing_class=processor, peft_config=_lora(config), callbacks=_callbacks(progress))
    return _run(trainer, config, processor, resume, len(data))


def _training_rows(config: Any, drop: tuple[str, ...]) -> Any:
    if not config.dataset:
        raise TrainingError("dataset: not set; pass --set dataset=<folder from `personaact train build-dataset`>")
    data = load_policy_dataset(Path(config.dataset))["train"]
    if config.max_train_rows:
        data = data.select(range(min(config.max_train_rows, len(data))))
    if len(data) == 0:
        raise TrainingError(f"{config.dataset}: the train split is empty; build the dataset from longer traces")
    return data.remove_columns([c for c in drop if c in data.column_names])


def resolve_model(config: Any, data: Any = None) -> Path:
    """The model folder to train: a local model, an adapter folder merged first, or a freshly built tiny model."""
    out = Path(config.output_dir)
    if config.model == TINY:
        folder = out / "tiny-model"
        if not (folder / "config.json").is_file():
            build_tiny_qwen_vl(folder, tiny_corpus(data), seed=config.seed)
        return folder
    folder = Path(config.model).expanduser()
    if (folder / "adapter_config.json").is_file():
        merged = out / "base-merged"
        return merged if (merged / "config.json").is_file() else merge_adapter(folder, merged)
    if not (folder / "config.json").is_file():
        raise TrainingError(f"model: {str(folder)!r} is not a local model folder (no config.json); pass "
                            "--set model=<Qwen2.5-VL folder>, an adapter folder, or model=tiny; nothing is downloaded")
    return folder


def tiny_corpus(data: Any) -> list[str]:
    """Text to train the tiny tokenizer on: the dataset's prompts and replies."""
    texts = []
    for row in data.select(range(min(len(data), 64))) if data is not None else ():
        for key in ("prompt", "completion"):
            for message in row.get(key) or ():
                texts += [str(p.get("text") or "") for p in message["content"]]
    from personas.policy.grammar import SYSTEM_PROMPT

    return texts + [SYSTEM_PROMPT, '{"watch_seconds": 12.5, "like": true, "comment": false, "share": false}']


def load_model(folder: Path, config: Any) -> tuple[Any, Any]:
    """Model and processor from a local folder (bf16 on a GPU)."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    dtype = torch.bfloat16 if config.bf16 else torch.float32
    model = AutoModelForImageTextToText.from_pretrained(folder, local_files_only=True, dtype=dtype)
    processor = AutoProcessor.from_pretrained(folder, local_files_only=True, padding_side="left")
    return model, processor


def merge_adapter(adapter: Path, out: Path) -> Path:
    """Fold a LoRA adapter into its base model and save the full model (+ processor) to `out`."""
    from peft import PeftConfig, PeftModel
    from transformers import AutoModelForImageTextToText, AutoProcessor

    if not (adapter / "adapter_config.json").is_file():
        raise TrainingError(f"{adapter}: not a LoRA adapter folder (no adapter_config.json)")
    if out.exists() and any(out.iterdir()):
        raise TrainingError(f"{out}: folder is not empty; pick a new merge folder")
    base = Path(PeftConfig.from_pretrained(str(adapter)).base_model_name_or_path or "")
    if not (base / "config.json").is_file():
        raise TrainingError(f"{adapter}: its base model {str(base)!r} is not a local model folder; "
                            "edit base_model_name_or_path in adapter_config.json")
    model = AutoModelForImageTextToText.from_pretrained(base, local_files_only=True)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out)
    AutoProcessor.from_pretrained(adapter, local_files_only=True).save_pretrained(out)
    return out


def _lora(config: Any) -> Any:
    from peft import LoraConfig

    return LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=config.lora_targets, task_type="CAUSAL_LM")


def _callbacks(progress: Callable[[int], None] | None) -> list[Any]:
    from transformers import TrainerCallback

    class Progress(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if progress is not None:
                progress(1)

    return [Progress()]


def _check_output(config: Any, resume: bool) -> None:
    """Refuse to train over an earlier run's checkpoints or adapter unless resuming."""
    out = Path(config.output_dir)
    earlier = sorted(out.glob("checkpoint-*")) or [p for p in (out / "adapter", out / "train_result.json") if p.exists()]
    if earlier and not resume:
        raise TrainingError(f"{out}: holds an earlier run ({earlier[0].name}); pass --resume to continue it or pick a "
                            "new output_dir")


def _run(trainer: Any, config: Any, processor: Any, resume: bool, rows: int) -> TrainRun:
    out = Path(config.output_dir)
    checkpoints = sorted(out.glob("checkpoint-*"))
    before = lora_state(trainer.model)
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=True if (resume and checkpoints) else None)
    elapsed = time.perf_counter() - started
    adapter = out / "adapter"
    trainer.model.save_pretrained(adapter)
    processor.save_pretrained(adapter)
    state = trainer.state
    samples = state.global_step * config.per_device_train_batch_size * config.gradient_accumulation_steps
    run = TrainRun(adapter, int(state.global_step), lora_change(before, lora_state(trainer.model)),
                   samples / elapsed if elapsed > 0 else 0.0, tuple(_jsonable(h) for h in state.log_history))
    (out / "train_result.json").write_text(json.dumps(run.to_dict(), indent=2), encoding="utf-8")
    return run


def _jsonable(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if isinstance(v, (int, float, str, bool)) or v is None}
