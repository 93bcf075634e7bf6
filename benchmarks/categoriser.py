"""Categoriser accuracy against sandbox items' true categories: keywords, the embedded chat model, any HTTP model.

Run: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/categoriser.py` (CATEGORISER_BENCH_N items for keywords,
CATEGORISER_BENCH_CHAT_N for the chat model, CATEGORISER_BENCH_HTTP=http:<model>@<url> to add a served model).
Writes benchmarks/results/categoriser.json with a confusion summary per backend; the majority-class baseline sits beside.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from audit.categoriser import Categoriser, chat_for, measure_accuracy, sandbox_sample  # noqa: E402
from recorder.trace import Category  # noqa: E402

OUT = _HERE / "results" / "categoriser.json"
N = int(os.environ.get("CATEGORISER_BENCH_N", "400"))
CHAT_N = int(os.environ.get("CATEGORISER_BENCH_CHAT_N", "40"))
HTTP = os.environ.get("CATEGORISER_BENCH_HTTP", "")


def show(name: str, result: dict[str, Any]) -> None:
    """Print one backend's figures and its commonest confusions."""
    top, full = result["accuracy_top"], result["accuracy_full"]
    print(f"{name:28s} top {top['mean']:.3f} [{top['ci'][0]:.3f}, {top['ci'][1]:.3f}]  full {full['mean']:.3f}  "
          f"coverage {result['coverage']:.2f}  n={result['n']}"
          + (f"  {result['seconds_per_item']:.2f} s/item" if "seconds_per_item" in result else "")
          + (f"  model answered {result['model_answered']:.0%}" if result.get("model_answered") is not None else ""))
    for row in result["confusions"][:4]:
        print(f"{'':30s}{row['pair']}: {row['count']}")


def timed(categoriser: Categoriser, sample: list[Any]) -> dict[str, Any]:
    """Accuracy plus seconds per item."""
    started = time.perf_counter()
    result = measure_accuracy(categoriser.categorise, sample)
    result["seconds_per_item"] = (time.perf_counter() - started) / max(1, len(sample))
    result["chat_failures"] = categoriser.failures
    # with a chat model, the share of items the model itself answered (the rest fell back to keywords)
    result["model_answered"] = 1.0 - categoriser.failures / max(1, len(sample)) if categoriser.chat else None
    return result


def main() -> None:
    """Measure every backend and write benchmarks/results/categoriser.json."""
    results: dict[str, Any] = {}
    with_tags, without = sandbox_sample(N, seed=7), sandbox_sample(N, seed=7, with_tags=False)
    majority = Counter(item.truth[0] for item in with_tags).most_common(1)[0][0]
    results["majority_baseline"] = measure_accuracy(lambda meta, text: Category((majority,), "keyword"), with_tags)
    results["keyword"] = timed(Categoriser(), with_tags)
    results["keyword_no_hashtags"] = timed(Categoriser(), without)
    chats = [("embedded_chat", "embedded")] + ([("http_chat", HTTP)] if HTTP else [])
    for name, spec in chats:
        try:
            chat = chat_for(spec)
        except Exception as err:  # a missing model is reported, not fatal: the other figures still count
            results[name] = {"error": str(err)}
            continue
        results[name] = timed(Categoriser(chat=chat), without[:CHAT_N])
        results[name]["sample"] = "no hashtags (the model must read the caption and transcript)"
    for name, result in results.items():
        if "error" in result:
            print(f"{name}: not measured ({result['error']})")
        else:
            show(name, result)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"kind": "benchmark", "name": "categoriser", "schema_version": 1, "results": results,
                               "note": "sandbox items' tags are taxonomy aliases, so keywords with hashtags are an "
                                       "easy case; the no-hashtag sample is the honest one"}, indent=2,
                              ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
