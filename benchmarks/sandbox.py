"""Sandbox scale benchmark: 10,000 statistical users x 200 creators x 100 steps (wall time, peak memory), plus
LLM-agent throughput (decisions/s) of the embedded chat model with batching on and off."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# BLAS/OpenMP pools must be sized before numpy or torch load them: on a shared 2-core machine oversubscribed
# worker threads spin against other people's jobs and a tiny matmul can take 20x longer than on one thread.
if __name__ == "__main__":
    _threads = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--threads=")), "1")
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, _threads)

import json
import resource
import time

# run as a script, this file's folder comes first on sys.path and its name would shadow the sandbox package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from sandbox.config import SandboxConfig  # noqa: E402
from sandbox.platform import Platform  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "sandbox.json"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def simulate(args: argparse.Namespace) -> dict[str, object]:
    """Run the statistical-user world once and report its wall time, memory and a few outcome figures."""
    config = SandboxConfig(users=args.users, creators=args.creators, steps=args.steps, recommender=args.recommender,
                           write_logs=False, seed=args.seed)
    load_before = os.getloadavg()
    start = time.perf_counter()
    platform = Platform(config)
    history = platform.run()
    wall = time.perf_counter() - start
    return {"users": args.users, "creators": args.creators, "steps": args.steps, "recommender": args.recommender,
            "threads": args.threads, "wall_s": round(wall, 2), "steps_per_s": round(args.steps / wall, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1), "target_wall_s": 60,
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "impressions": int(sum(h["impressions"] for h in history)), "items": platform.catalogue.size,
            "click_rate": round(sum(h["clicks"] for h in history) / max(sum(h["impressions"] for h in history), 1), 4),
            "final_creator_retention": history[-1]["creator_retention"]}


def main() -> None:
    """Run the benchmark world (and the LLM throughput probe) and write benchmarks/results/sandbox.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--creators", type=int, default=200)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--recommender", default="mf")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (pass as --threads=N)")
    parser.add_argument("--llm-agents", type=int, default=8, help="LLM users per step in the throughput probe")
    parser.add_argument("--llm-steps", type=int, default=1)
    parser.add_argument("--llm-slate", type=int, default=2, help="videos per LLM user per step")
    parser.add_argument("--llm-style", default="auto", choices=("auto", "json", "compact"),
                        help="LLM users' prompt style (auto: compact for the embedded model)")
    parser.add_argument("--skip-llm", action="store_true", help="only the statistical-user world")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result: dict[str, object] = {"simulation": simulate(args)}
    print(json.dumps(result["simulation"], indent=2), flush=True)
    if not args.skip_llm:
        from sandbox.llm_users import measure_throughput

        result["llm_agents"] = measure_throughput(args.llm_agents, args.llm_steps, seed=args.seed,
                                                  slate_size=args.llm_slate, style=args.llm_style)
        agents = result["llm_agents"]
        print(json.dumps(agents, indent=2), flush=True)
        for mode in ("batched", "sequential"):  # usable share: decisions the model made (not statistical fallbacks)
            print(f"LLM users ({agents['style']}, {mode}): {agents[mode]['decisions_per_s']} decisions/s, "
                  f"{agents[mode]['usable_share']:.0%} usable", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
