"""The ground-truth properties audits are validated against, on a smaller world (benchmarks/groundtruth.py runs
the full-size measurement)."""

import shutil
import tempfile
from pathlib import Path

import pytest

from audit.runner import run_session
from personas.policy import SimplePersona
from recorder.feed import VirtualClock
from recorder.store import read_trace
from recorder.trace import TraceHeader
from sandbox.groundtruth import GroundTruthPlan, GroundTruthWorld, bootstrap_ci, decline, distinct_per_window, measure, phase_js
from sandbox.traces import START


def test_measures_on_known_values():
    assert distinct_per_window(list("aabbccdd"), 4) == [2, 2]
    assert decline([10, 8, 5]) == 0.5 and decline([0, 3]) == 0.0
    assert phase_js(["a", "a"], ["b"]) == 1.0 and phase_js(["a", "b"], ["b", "a"]) == 0.0
    low, high = bootstrap_ci([1.0, 2.0, 3.0, 4.0])
    assert 1.0 <= low < 2.5 < high <= 4.0


@pytest.mark.slow
def test_ground_truth_properties_hold_on_a_small_world(tmp_path):
    counter = iter(range(10_000))
    shm = Path("/dev/shm")  # traces are fsynced per step; tmpfs keeps that cheap
    scratch = Path(tempfile.mkdtemp(dir=shm if shm.is_dir() else tmp_path))

    def drive(feed, policy, videos, seed):
        feed.clock = VirtualClock(START)
        folder = scratch / f"t{next(counter)}"
        header = TraceHeader(folder.name, "agent", "sandbox", START, persona_id="viewer")
        run_session(feed, policy, SimplePersona("viewer"), videos, folder, header=header, seed=seed)
        return [s.category.path for s in read_trace(folder).steps]

    # half the benchmark's session length, so the inertia levels sit lower (memory 10 .. 188 videos vs 200-video phases)
    world = GroundTruthWorld(users=150, creators=50, advance_every=6)
    plan = GroundTruthPlan(seeds=(0, 1, 2), videos=300, inertia_levels=(0.0, 0.25, 0.5, 0.75))
    try:
        result = measure(world, plan, drive)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert result["favourite_share_last100"] >= 0.5
    assert result["favourite_share_last100"] >= 3 * result["favourite_share_random"]
    assert result["distinct_decline_mf"] >= 0.2
    assert result["checks"]["distinct_decline_random_ci_contains_0"]
    assert result["checks"]["decline_increasing_in_personalisation"], result["decline_by_personalisation"]
    assert result["checks"]["js_strictly_decreasing_in_inertia"], result["js_by_inertia"]
    assert result["checks"]["js_extreme_inertia_cis_disjoint"], result["js_by_inertia_ci"]
