"""Grids of sandbox runs (recommenders x knob levels x seeds) as Ray tasks, and recommender comparisons.

`run_sweep(base, grid, address)` runs every grid point's seeds as Ray tasks (`address="local"`: a local
`ray.init()`; a cluster address otherwise; None: serially in this process) and aggregates each metric's
second-half mean into an estimate `{"mean", "ci": [low, high], "n"}` per grid point (95% bootstrap CI over seeds).
Every task runs torch on one thread and draws only from its own seeded world, so Ray results equal the serial
run's to the digit.

sweep.json: {"kind": "sandbox_sweep", "schema_version": 1, "grid": {...}, "settings": {...},
             "rows": [{"recommender", "knob", "level", "metrics": {metric: estimate}, "per_seed": {metric: [...]}}]}
compare.json: {"kind": "sandbox_compare", "schema_version": 1, "seeds": [...], "settings": {...},
               "rows": [{"recommender", "metrics": {metric: estimate}, "per_seed": {...}, "runs": [folders]}]}
Each JSON has a CSV beside it: one line per row and metric (mean, ci_low, ci_high, n).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from recorder.config import to_mapping
from recorder.errors import PersonaActError
from recorder.files import atomic_write_bytes, write_json_atomic
from sandbox.config import SandboxConfig
from sandbox.metrics import estimate
from sandbox.profiles import KNOBS, Knobs


class SweepError(ValueError, PersonaActError):
    """The grid is unusable; the message names the option."""


@dataclass(frozen=True)
class Grid:
    """Recommenders x levels of one knob x seeds (seeds base.seed, base.seed + 1, ...)."""

    recommenders: tuple[str, ...]
    knob: str
    levels: tuple[float, ...]
    seeds: int

    def __post_init__(self) -> None:
        if self.knob not in KNOBS:
            raise SweepError(f"--knob {self.knob!r}: use one of {', '.join(KNOBS)}")
        if not self.recommenders or not self.levels:
            raise SweepError("a sweep needs at least one recommender and one level")
        if self.seeds < 1:
            raise SweepError(f"--seeds must be >= 1, got {self.seeds}")
        for level in self.levels:
            Knobs().replace(**{self.knob: level})  # names the knob when a level is out of range

    def configs(self, base: SandboxConfig) -> list[SandboxConfig]:
        """Every run of the grid, validated before anything runs."""
        from sandbox.recommenders.registry import build_pipeline

        for spec in self.recommenders:
            build_pipeline(spec, base.options)  # unknown names fail here, naming the spec
        knob: dict[str, Any] = {}
        return [replace(base, recommender=r, seed=base.seed + s, out=None, write_logs=False, **{**knob, self.knob: lv})
                for r in self.recommenders for lv in self.levels for s in range(self.seeds)]


def run_point(config: SandboxConfig) -> dict[str, float]:
    """One run in this process (torch on one thread): the second-half summary of its metrics."""
    import torch

    from sandbox.platform import Platform
    from sandbox.runs import summarise

    torch.set_num_threads(1)
    return summarise(Platform(config).run())


def run_all(configs: Sequence[SandboxConfig], address: str | None, num_cpus: int | None = None) -> list[dict[str, float]]:
    """Summaries of every config, as Ray tasks (address "local" or a cluster) or serially (address None)."""
    if address is None:
        return [run_point(c) for c in configs]
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(address=None if address == "local" else address, num_cpus=num_cpus, include_dashboard=False,
                 log_to_driver=False, runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    try:
        task = ray.remote(num_cpus=1)(run_point)
        return list(ray.get([task.remote(c) for c in configs]))
    finally:
        if started:
            ray.shutdown()


def run_sweep(base: SandboxConfig, grid: Grid, address: str | None = "local",
              num_cpus: int | None = None) -> dict[str, Any]:
    """Run the grid and aggregate it (see the module docstring for the result's shape)."""
    configs = grid.configs(base)
    summaries = run_all(configs, address, num_cpus)
    rows = []
    for i, (recommender, level) in enumerate((r, lv) for r in grid.recommenders for lv in grid.levels):
        chunk = summaries[i * grid.seeds:(i + 1) * grid.seeds]
        rows.append({"recommender": recommender, "knob": grid.knob, "level": level, **_aggregate(chunk)})
    return {"kind": "sandbox_sweep", "schema_version": 1, "grid": asdict(grid),
            "seeds": [base.seed + s for s in range(grid.seeds)], "settings": _settings(base), "rows": rows}


def _aggregate(summaries: Sequence[dict[str, float]]) -> dict[str, Any]:
    per_seed = {k: [s[k] for s in summaries] for k in summaries[0]}
    return {"metrics": {k: estimate(v) for k, v in per_seed.items()}, "per_seed": per_seed}


def _settings(base: SandboxConfig) -> dict[str, Any]:
    data = json.loads(json.dumps(to_mapping(base), default=str))
    for key in ("out", "seed", "recommender"):
        data.pop(key, None)
    return data


def compare(base: SandboxConfig, recommenders: Sequence[str], seeds: int, out: Path,
            overwrite: bool = False) -> dict[str, Any]:
    """Run each recommender on seeds base.seed.. into out/<spec>/s<seed>, then compare.json/.csv with CIs."""
    from sandbox.recommenders.registry import build_pipeline
    from sandbox.runs import execute, summarise

    if seeds < 1:
        raise SweepError(f"--seeds must be >= 1, got {seeds}")
    for spec in recommenders:
        build_pipeline(spec, base.options)
    rows = []
    for spec in recommenders:
        summaries, folders = [], []
        for s in range(seeds):
            folder = Path(out) / spec.replace("+", "_") / f"s{base.seed + s}"
            config = replace(base, recommender=spec, seed=base.seed + s, out=folder)
            summaries.append(summarise(execute(config, "overwrite" if overwrite else "new")))
            folders.append(str(folder.relative_to(out)))
        rows.append({"recommender": spec, **_aggregate(summaries), "runs": folders})
    result = {"kind": "sandbox_compare", "schema_version": 1, "seeds": [base.seed + s for s in range(seeds)],
              "settings": _settings(base), "rows": rows}
    write_table(Path(out), "compare", result, ("recommender",))
    return result


def write_sweep(out: Path, result: dict[str, Any]) -> None:
    """sweep.json and sweep.csv in `out`."""
    write_table(Path(out), "sweep", result, ("recommender", "knob", "level"))


def write_table(out: Path, name: str, result: dict[str, Any], keys: Sequence[str]) -> None:
    """<name>.json (the whole result) and <name>.csv (one line per row and metric)."""
    write_json_atomic(out / f"{name}.json", result)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*keys, "metric", "mean", "ci_low", "ci_high", "n"])
    for row in result["rows"]:
        for metric, est in row["metrics"].items():
            writer.writerow([*(row[k] for k in keys), metric, est["mean"], *est["ci"], est["n"]])
    atomic_write_bytes(out / f"{name}.csv", buffer.getvalue().encode())
