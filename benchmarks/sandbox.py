"""Sandbox scale benchmark: 10,000 users x 200 creators x 100 steps and 100,000 users x 1,000 creators x 100 steps
in one run (wall time, peak RSS, impressions/s; targets on 2 cores: <= 60 s and <= 5 min, RSS <= 8 GiB), plus
LLM-agent throughput (decisions/s) of the embedded chat model with batching on and off.

A world that exceeds --max-wall-s stops early and reports the steps it finished and the extrapolated wall time.
Figures on a shared machine depend on its load: the load averages before and after are recorded."""

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


def simulate(users: int, creators: int, steps: int, args: argparse.Namespace) -> dict[str, object]:
    """Run one statistical-user world (up to --max-wall-s) and report wall time, memory and outcome figures."""
    config = SandboxConfig(users=users, creators=creators, steps=steps, recommender=args.recommender,
                           write_logs=False, seed=args.seed)
    load_before = os.getloadavg()
    start = time.perf_counter()
    platform = Platform(config)
    while platform.step < steps and time.perf_counter() - start < args.max_wall_s:
        platform.run_step()
    wall = time.perf_counter() - start
    history, done = platform.history, platform.step
    impressions = int(sum(h["impressions"] for h in history))
    return {"users": users, "creators": creators, "steps": steps, "steps_done": done,
            "recommender": args.recommender, "threads": args.threads, "wall_s": round(wall, 2),
            "wall_s_extrapolated": round(wall * steps / max(done, 1), 1), "steps_per_s": round(done / wall, 3),
            "impressions": impressions, "impressions_per_s": round(impressions / wall, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1), "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()], "items": platform.catalogue.size,
            "click_rate": round(sum(h["clicks"] for h in history) / max(impressions, 1), 4),
            "final_creator_retention": history[-1]["creator_retention"] if history else None}


def main() -> None:
    """Run the benchmark world (and the LLM throughput probe) and write benchmarks/results/sandbox.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worlds", default="10000x200,100000x1000", help="USERSxCREATORS,... run in order")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--max-wall-s", type=float, default=900.0, help="stop a world after this many seconds")
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
    targets = {10_000: 60.0, 100_000: 300.0}
    worlds = []
    for spec in args.worlds.split(","):
        users, creators = (int(x) for x in spec.lower().split("x"))
        world = simulate(users, creators, args.steps, args)
        world["target_wall_s"] = targets.get(users)
        worlds.append(world)
        print(json.dumps(world, indent=2), flush=True)
    result: dict[str, object] = {"kind": "sandbox_benchmark", "schema_version": 1,
                                 "note": "measured on a shared 2-core machine while other jobs ran (see loadavg)",
                                 "simulation": worlds}
    if args.skip_llm and RESULTS.is_file():  # keep the last LLM probe, marked as not re-measured
        previous = json.loads(RESULTS.read_text()).get("llm_agents")
        if previous:
            result["llm_agents"] = {**previous, "note": "from an earlier run; not re-measured"}
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
