"""Sandbox ground truth: the properties audits are validated against, measured over seeds with bootstrap CIs.

Favourite-category viewer for 800 videos under `mf` and `random`; distinct full taxonomy paths per 50-video
window; the decline at three personalisation levels; cultivation then switch (400 + 400 videos) at four inertia
levels, Jensen-Shannon divergence (base 2) between the phases. Sessions are driven by the audit runner (the one
loop that drives a Feed). Writes benchmarks/results/groundtruth.json.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

if __name__ == "__main__":  # size BLAS/OpenMP pools before numpy or torch load them (shared 2-core machine)
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import json
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

# run as a script, this file's folder comes first on sys.path and its name would shadow packages
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.runner import run_session  # noqa: E402
from personas.policy import SimplePersona  # noqa: E402
from recorder.feed import VirtualClock  # noqa: E402
from recorder.store import read_trace  # noqa: E402
from recorder.trace import TraceHeader  # noqa: E402
from sandbox.groundtruth import GroundTruthPlan, GroundTruthWorld, measure  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "groundtruth.json"
START = datetime(2026, 1, 1, tzinfo=UTC)


def drive(feed: Any, policy: Any, videos: int, seed: int) -> list[tuple[str, ...]]:
    """Run the session through audit.runner into a scratch trace and return the category path of every video."""
    feed.clock = VirtualClock(START)
    shm = Path("/dev/shm")  # the runner fsyncs every step; tmpfs keeps that cheap
    with tempfile.TemporaryDirectory(prefix="groundtruth-", dir=shm if shm.is_dir() else None) as tmp:
        folder = Path(tmp) / "trace"
        header = TraceHeader(f"groundtruth-{seed}", "agent", "sandbox", START, persona_id="viewer")
        run_session(feed, policy, SimplePersona("viewer"), videos, folder, header=header, seed=seed)
        return [s.category.path for s in read_trace(folder).steps]


def main() -> None:
    """Measure every property, print them with their verdicts, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--videos", type=int, default=800)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    world, plan = GroundTruthWorld(), GroundTruthPlan(seeds=tuple(range(args.seeds)), videos=args.videos)
    started = time.perf_counter()
    result = measure(world, plan, drive, progress=lambda m: print(m, flush=True))
    result = {"kind": "sandbox_groundtruth", "schema_version": 1, "measured_at": datetime.now(UTC).isoformat(),
              "world": asdict(world), "plan": asdict(plan), "wall_s": round(time.perf_counter() - started, 1),
              **result}
    for key, value in result.items():
        if key not in ("per_seed", "world", "plan"):
            print(f"{key}: {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
