"""Audit runner costs: per-step overhead (sandbox, virtual phone), dwell error, decision latency, 800-step breadth wall time.

Run: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/audit.py` (AUDIT_BENCH_PHONE_STEPS, AUDIT_BENCH_TIME_SCALE to
resize). Writes benchmarks/results/audit.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from audit.agents import build_agent  # noqa: E402  (after the sys.path fix above)
from audit.feeds import SandboxSource, SandboxWorld, VirtualPhoneSource  # noqa: E402
from audit.protocols import AuditRun, AuditSpec  # noqa: E402
from audit.runner import RunnerOptions, run_session  # noqa: E402
from audit.validation import record_sandbox_user  # noqa: E402
from recorder.trace import TraceHeader  # noqa: E402

OUT = _HERE / "results" / "audit.json"
PHONE_STEPS = int(os.environ.get("AUDIT_BENCH_PHONE_STEPS", "60"))
TIME_SCALE = float(os.environ.get("AUDIT_BENCH_TIME_SCALE", "1.0"))
WORLD = SandboxWorld(seed=0, users=300, creators=100, warmup_steps=5, advance_every=10)


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float], unit: float = 1000.0) -> dict[str, Any]:
    """Median and p95 (in ms by default) with n."""
    return {"median": round(statistics.median(values) * unit, 3), "p95": round(pct(values, 0.95) * unit, 3),
            "n": len(values)}


def sandbox_breadth(tmp: Path, agent: Any) -> dict[str, Any]:
    """An 800-step breadth audit (persona + control, 1600 steps) on the sandbox: wall time and per-step overhead."""
    run = AuditRun(AuditSpec("breadth", 800, seed=0), SandboxSource(WORLD), agent, tmp / "breadth")
    started = time.perf_counter()
    run.run()
    wall = time.perf_counter() - started
    overhead, latency = [], []
    for account in ("persona", "control"):
        for line in (run.folder(0, account) / "runner.jsonl").read_text().splitlines():
            row = json.loads(line)
            overhead.append(row["overhead_s"])
            if account == "persona":
                latency.append(row["latency_s"])
    return {"wall_s": round(wall, 2), "steps": 1600, "overhead_ms": summary(overhead),
            "decision_latency_ms": summary(latency)}


def virtual_phone(tmp: Path, agent: Any) -> dict[str, Any]:
    """Steps through adb + uiautomator2 on the virtual phone: overhead outside the dwell, and the dwell error
    (what the phone saw minus what the policy decided, in real seconds)."""
    source = VirtualPhoneSource(WORLD, "douyin", time_scale=TIME_SCALE)
    try:
        feed = source.open(0, "persona")
        phone = source.phones[(0, "persona")]
        seen: list[float] = []
        inner_watch = phone.feed.watch

        def watch(seconds: float) -> None:  # the phone hands the sandbox the dwell it measured itself
            seen.append(seconds)
            inner_watch(seconds)

        phone.feed.watch = watch
        header = TraceHeader("bench-virtual", "agent", "virtual", feed.clock.now(), persona_id=agent.persona.persona_id)
        stats = run_session(feed, agent.policy(0), agent.persona, PHONE_STEPS, tmp / "virtual", header=header,
                            options=RunnerOptions(skip_s=1.0))
    finally:
        source.close()
    decided = [t.decided_s for t in stats.timings]
    errors = [(actual - want) / TIME_SCALE for actual, want in zip(seen, decided, strict=False)]
    return {"steps": PHONE_STEPS, "time_scale": TIME_SCALE, "overhead_ms": summary([t.overhead_s for t in stats.timings]),
            "dwell_error_s": {"median": round(statistics.median(errors), 4), "p95": round(pct(errors, 0.95), 4),
                              "p95_abs": round(pct([abs(e) for e in errors], 0.95), 4), "n": len(errors)},
            "decision_latency_ms": summary([t.latency_s for t in stats.timings])}


def main() -> None:
    """Measure and write benchmarks/results/audit.json."""
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        persona, traces = record_sandbox_user(WORLD, tmp / "persona", 300)
        agent = build_agent(persona, "statistical", traces)
        sandbox = sandbox_breadth(tmp, agent)
        print(f"sandbox 800-step breadth: {sandbox['wall_s']} s wall for 1600 steps; per-step overhead median "
              f"{sandbox['overhead_ms']['median']} ms, p95 {sandbox['overhead_ms']['p95']} ms (target <= 20 ms)")
        print(f"decision latency (statistical policy) p95 {sandbox['decision_latency_ms']['p95']} ms")
        phone = virtual_phone(tmp, agent)
        print(f"virtual phone: per-step overhead median {phone['overhead_ms']['median']} ms (target <= 1000 ms), "
              f"dwell error p95 {phone['dwell_error_s']['p95']} s, |error| p95 {phone['dwell_error_s']['p95_abs']} s "
              f"(target <= 0.2 s), n={phone['steps']} at time scale {TIME_SCALE}")
    result = {"kind": "benchmark", "name": "audit", "schema_version": 1, "sandbox_breadth_800": sandbox,
              "virtual_phone": phone, "machine": {"cpus": os.cpu_count(), "omp_threads": os.environ.get("OMP_NUM_THREADS")},
              "targets": {"sandbox_overhead_ms": 20, "virtual_overhead_ms_median": 1000, "dwell_error_p95_s": 0.2}}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
