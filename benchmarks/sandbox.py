"""Sandbox scale benchmark: 10,000 statistical users x 200 creators x 100 steps -- wall time and peak memory."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

# run as a script, this file's folder comes first on sys.path and its name would shadow the sandbox package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from sandbox.config import SandboxConfig
from sandbox.platform import Platform

RESULTS = Path(__file__).resolve().parent / "results" / "sandbox.json"


def main() -> None:
    """Run the benchmark world and write benchmarks/results/sandbox.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--creators", type=int, default=200)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--recommender", default="mf")
    args = parser.parse_args()
    torch.set_num_threads(2)
    config = SandboxConfig(users=args.users, creators=args.creators, steps=args.steps, recommender=args.recommender,
                           write_logs=False, seed=0)
    start = time.perf_counter()
    platform = Platform(config)
    history = platform.run()
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"users": args.users, "creators": args.creators, "steps": args.steps, "recommender": args.recommender,
              "wall_s": round(wall, 2), "steps_per_s": round(args.steps / wall, 3), "peak_rss_mb": round(peak_mb, 1),
              "impressions": int(sum(h["impressions"] for h in history)), "items": platform.catalogue.size,
              "final_creator_retention": history[-1]["creator_retention"], "target_wall_s": 60}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
