"""Benchmark persona-policy training: SFT and GRPO samples/s on synthetic traces with key frames.

CPU (default): the tiny random Qwen2.5-VL used by the tests.
GPU: `--shape 7b --device cuda` builds a random model with Qwen2.5-VL-7B-Instruct's shapes directly on the GPU
(bf16, activation checkpointing, nothing downloaded or saved) and runs a few SFT and GRPO steps with the paper's
LoRA settings (SFT r=64/alpha=128, GRPO r=8/alpha=32, 8 generations). Figures: steps/s and samples/s after one
warm-up step (GRPO samples = completions), peak GPU memory. Writes benchmarks/results/train[-7b].json.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the figures and write them as JSON."""
    args = _parse(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp(prefix="personaact-train-bench-"))
    try:
        dataset = _dataset(root, args)
        result = {"shape": args.shape, "device": args.device, "date": datetime.date.today().isoformat(),
                  "dataset_rows": args.rows, "frames_per_view": 1, "max_pixels": args.max_pixels,
                  "sft": _run("sft", root, dataset, args), "grpo": _run("grpo", root, dataset, args),
                  "decision_latency": _latency(root, dataset, args), "machine": _machine(torch)}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    output = args.output or RESULTS / ("train.json" if args.shape == "tiny" else f"train-{args.shape}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    print(f"wrote {output}")
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=("tiny", "7b"), default="tiny", help="model shapes (default: tiny)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="device (default: cpu)")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per trainer, 1 warm-up (default: 4)")
    parser.add_argument("--rows", type=int, default=32, help="training rows (default: 32)")
    parser.add_argument("--max-pixels", type=int, default=112 * 112, help="pixels per frame (default: 12544)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1; 0 = torch's)")
    parser.add_argument("--output", type=Path, default=None, help="result file (default: results/train*.json)")
    return parser.parse_args(argv)


def _jpeg(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def _dataset(root: Path, args: argparse.Namespace) -> Path:
    """Synthetic sessions with one frame per view, through the real dataset builder."""
    from datetime import UTC, timedelta

    from personas.policy.dataset import DatasetConfig, build_dataset
    from recorder.store import TraceWriter, read_trace
    from recorder.trace import Action, Category, Step, TraceHeader, VideoMeta

    start = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    folders = []
    views = max(12, args.rows // 2 + 4)
    for s in range(3):
        folder = root / "traces" / f"s{s}"
        header = TraceHeader(trace_id=f"bench-{s}", recorded_by="human", platform="douyin", started_at=start,
                             persona_id="B1", collector="B1")
        with TraceWriter.create(folder, header) as writer:
            for i in range(views):
                top = ("Food", "Gaming", "Knowledge")[i % 3]
                frame = writer.add_file(_jpeg((40 * i % 256, 90, 160), (320, 568)), "frame", f"{i:06d}.jpg")
                writer.append(Step(index=i, appeared_at=start + timedelta(minutes=20 * s, seconds=15 * i),
                                   watch_s=2.0 + 7 * (i % 4), actions=(Action("like"),) if i % 5 == 0 else (),
                                   meta=VideoMeta(author=f"creator{i % 4}", caption=f"{top} clip #{top.lower()}",
                                                  hashtags=(top.lower(),), like_count=100 * i),
                                   category=Category((top,)), frames=(frame,)))
        folders.append(folder)
    out = root / "dataset"
    build_dataset([read_trace(f) for f in folders], folders, out,
                  config=DatasetConfig(frames=1, max_pixels=args.max_pixels, history_len=5))
    return out


def _loaded(args: argparse.Namespace, dataset: Path) -> tuple[Any, Any] | None:
    """For 7B shapes: a random model built on the GPU in bf16 and a processor; tiny models come from config."""
    if args.shape == "tiny":
        return None
    import torch

    from personas.models.training import QWEN_VL_7B_SHAPES, QWEN_VL_7B_VOCAB, qwen_vl_processor, random_qwen_vl
    from personas.policy.dataset import load_policy_dataset
    from personas.policy.training import tiny_corpus

    processor, ids = qwen_vl_processor(tiny_corpus(load_policy_dataset(dataset)["train"]), 1000,
                                       56 * 56, args.max_pixels)
    model = random_qwen_vl(ids, QWEN_VL_7B_VOCAB, QWEN_VL_7B_SHAPES, device=args.device, dtype=torch.bfloat16)
    return model, processor


def _run(kind: str, root: Path, dataset: Path, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from personas.policy.training import PersonaGRPOConfig, PersonaSFTConfig, train_grpo, train_sft

    common = dict(output_dir=str(root / kind), dataset=str(dataset), max_steps=args.steps, save_steps=10_000,
                  max_train_rows=args.rows, train_on=args.device, seed=0)
    if kind == "sft":
        config: Any = PersonaSFTConfig(**common, per_device_train_batch_size=1, gradient_accumulation_steps=2)
        per_step = 2
        trainer = train_sft
    else:
        config = PersonaGRPOConfig(**common, per_device_train_batch_size=8, num_generations=8,
                                   generation_batch_size=8, max_completion_length=32 if args.shape == "tiny" else 64)
        per_step = 8
        trainer = train_grpo
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    build_started = time.perf_counter()
    loaded = _loaded(args, dataset)
    build_s = time.perf_counter() - build_started
    stamps: list[float] = []
    run = trainer(config, progress=lambda n: stamps.append(time.perf_counter()), loaded=loaded)
    timed = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    steps_s = (len(stamps) - 1) / timed if timed > 0 else 0.0
    figures = {"steps": run.steps, "samples_per_step": per_step, "steps_per_s_after_warmup": round(steps_s, 4),
               "samples_per_s_after_warmup": round(steps_s * per_step, 3),
               "samples_per_s_including_warmup": round(run.samples_per_s, 3), "model_build_s": round(build_s, 2),
               "lora_change": run.lora_change, "lora_r": config.lora_r, "bf16": bool(config.bf16)}
    if kind == "grpo":
        rewards = [e.get("reward") for e in run.log if "reward" in e]
        figures["reward_per_step"] = rewards
    if args.device == "cuda":
        figures["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    del loaded
    if args.device == "cuda":
        torch.cuda.empty_cache()
    print(f"{kind}: {figures}")
    return figures


def _latency(root: Path, dataset: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Seconds per decision of the VLM policy (greedy, up to 32 new tokens; random weights never stop early, so
    this is the worst case): one request at a time and a batch of 8, each after one warm-up call."""
    import statistics

    import numpy as np

    from personas.policy import SimplePersona
    from personas.policy.inference import LocalVLMPolicy, PolicyRequest
    from personas.policy.training import PersonaSFTConfig, load_model, resolve_model
    from recorder.feed import Observation

    if args.shape == "tiny":
        model, processor = load_model(resolve_model(PersonaSFTConfig(output_dir=str(root / "sft"), train_on=args.device),
                                                    None), PersonaSFTConfig(train_on=args.device))
        model.to(args.device)
    else:
        model, processor = _loaded(args, dataset) or (None, None)
    model.eval()
    policy = LocalVLMPolicy(model, processor, max_new_tokens=32, batch_size=8, max_pixels=args.max_pixels,
                            card="A persona card of about this length: likes cooking, skips games quickly.")
    frame = np.full((568, 320, 3), 128, dtype=np.uint8)
    persona = SimplePersona("B1")
    requests = [PolicyRequest(persona, Observation(i, datetime.datetime.now(datetime.UTC), frame=frame), [])
                for i in range(8)]
    policy.act_batch(requests[:1])
    single = [policy.act_batch([r])[0].latency_s for r in requests[:4]]
    policy.act_batch(requests)
    batched = [d.latency_s for d in policy.act_batch(requests)]
    figures = {"max_new_tokens": 32, "single_s_median": round(statistics.median(single), 4),
               "batch8_s_per_decision": round(statistics.median(batched), 4),
               "format_failures": policy.stats.failed, "calls": policy.stats.calls}
    print(f"decision latency: {figures}")
    return figures


def _machine(torch: Any) -> dict[str, Any]:
    import transformers
    import trl

    info = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "cpu": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


if __name__ == "__main__":
    raise SystemExit(main())
