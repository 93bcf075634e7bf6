"""Run folders that cannot lie: refuse to mix runs, resume under the run's own config, write results.

A run folder holds:
- `config.yaml`: the run's full config (without `out`: every path in a run is relative to its folder, so a moved
  folder resumes in place);
- `checkpoint/state.json` + `checkpoint/arrays.npz`: the versioned checkpoint (see sandbox.checkpoint);
- `impressions/part-*.parquet`: one Parquet dataset of every impression (see sandbox.storage);
- `metrics.json`: kind=sandbox_run, schema_version=1, the per-step metric series (`steps`), their second-half
  means (`summary`), per-step LLM fallback counts (`llm`), recommender and seed;
- `traces/user-NNNNNN/`: recorded simulated users (with `--trace-users K`);
- `llm_exchanges.jsonl`: every LLM decision of users and creators (when any chat model is used).

Writing into a non-empty folder needs `resume` (carry on from the checkpoint under the saved config; flags that
contradict it are an error naming them, except `steps`, which may grow) or `overwrite` (start over).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from recorder.config import from_mapping, read_yaml_mapping, to_mapping
from recorder.errors import PersonaActError
from recorder.files import atomic_write_bytes, write_json_atomic
from sandbox.config import SandboxConfig

CONFIG_FILE, METRICS_FILE = "config.yaml", "metrics.json"
RUN_ENTRIES = ("config.yaml", "metrics.json", "checkpoint", "impressions", "traces", "llm_exchanges.jsonl")
MODES = ("new", "resume", "overwrite")
SUMMARY_KEYS = ("click_rate", "like_rate", "watch_s_per_user", "utility_per_user", "creator_retention",
                "exposed_entropy", "created_entropy", "exposure_gini", "js_created_vs_demand", "explore_ratio")


class RunFolderError(ValueError, PersonaActError):
    """The run folder cannot be used as asked; the message names the folder or option and what to do."""


def prepare(out: Path, mode: str) -> None:
    """Make `out` ready for a run in `mode` (new | resume | overwrite), refusing anything that would mix runs."""
    if mode not in MODES:
        raise RunFolderError(f"run mode {mode!r}: use one of {', '.join(MODES)}")
    out = Path(out)
    busy = out.exists() and any(out.iterdir())
    if mode == "new" and busy:
        raise RunFolderError(f"{out}: not empty; pass --resume to continue that run or --overwrite to start over")
    if mode == "resume" and not (out / CONFIG_FILE).is_file():
        raise RunFolderError(f"{out}: no {CONFIG_FILE} to resume from; run without --resume first")
    if mode == "overwrite" and busy:
        foreign = sorted(p.name for p in out.iterdir() if p.name not in RUN_ENTRIES)
        if foreign:
            raise RunFolderError(f"{out}: holds {foreign[0]!r}, which is not part of a sandbox run; "
                                 f"refusing to overwrite it, pick another --out")
        for entry in out.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    out.mkdir(parents=True, exist_ok=True)


def save_config(out: Path, config: SandboxConfig) -> Path:
    """Write the config the run uses (without `out`) to out/config.yaml."""
    data = _plain(to_mapping(replace(config, out=None)))
    data.pop("out", None)
    path = Path(out) / CONFIG_FILE
    atomic_write_bytes(path, yaml.safe_dump(data, sort_keys=False).encode())
    return path


def saved_config(out: Path) -> SandboxConfig:
    """The run's own config, with `out` set to where the folder is now."""
    path = Path(out) / CONFIG_FILE
    return replace(from_mapping(SandboxConfig, read_yaml_mapping(path), source=str(path)), out=Path(out))


def resume_config(out: Path, requested: SandboxConfig, given: Mapping[str, Any]) -> SandboxConfig:
    """The saved config, with `steps` taken from the request; any other given option that differs is an error.

    `given` maps the option names the user actually set (flags and --set keys) to their values."""
    saved = saved_config(out)
    saved_map, requested_map = _plain(to_mapping(saved)), _plain(to_mapping(requested))
    clashes = [key for key in given if key not in ("steps", "out")
               and _lookup(requested_map, key) != _lookup(saved_map, key)]
    if clashes:
        named = "; ".join(f"{k}={_lookup(requested_map, k)!r} contradicts the saved {k}={_lookup(saved_map, k)!r}"
                          for k in clashes)
        raise RunFolderError(f"{out}: {named} ({CONFIG_FILE}); drop those options to resume, or use --overwrite "
                             f"to start a new run")
    return replace(saved, steps=requested.steps if "steps" in given else saved.steps)


def _plain(data: Any) -> Any:
    """YAML/JSON-ready copy (tuples become lists, paths strings), so saved and requested configs compare."""
    return json.loads(json.dumps(data, default=str))


def _lookup(data: Mapping[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def summarise(history: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over the second half of the run (after warm-up); retention at the end."""
    late = history[len(history) // 2:]
    out = {k: float(np.mean([h[k] for h in late])) for k in SUMMARY_KEYS if k in late[0]}
    out["creator_retention"] = history[-1]["creator_retention"]
    return out


def write_metrics(out: Path, config: SandboxConfig, history: list[dict[str, float]],
                  extra: Mapping[str, Any] | None = None) -> Path:
    """metrics.json (kind=sandbox_run) for a run."""
    path = Path(out) / METRICS_FILE
    write_json_atomic(path, {"kind": "sandbox_run", "schema_version": 1, "recommender": config.recommender,
                             "seed": config.seed, "knobs": {"personalisation": config.personalisation,
                                                            "exploration": config.exploration,
                                                            "inertia": config.inertia},
                             "summary": summarise(history), "steps": history, **(extra or {})})
    return path


def execute(config: SandboxConfig, mode: str = "new", given: Mapping[str, Any] | None = None,
            trace_users: int = 0, progress: Callable[[int], None] | None = None) -> list[dict[str, float]]:
    """Run (or resume) one simulation in config.out: validate everything first, then prepare the folder, save
    the config, run with checkpoints, write metrics.json. Returns the metric history."""
    from sandbox.platform import Platform
    from sandbox.traces import attach_user_traces

    if config.out is None:
        raise RunFolderError("out: a run needs a results folder")
    out = Path(config.out)
    if mode == "resume":
        prepare(out, mode)
        config = resume_config(out, config, given or {})
        platform = Platform.resume(config)
    else:
        if mode == "new":
            prepare(out, mode)  # refuse a busy folder before spending time on building the world
        platform = Platform(config)  # builds and validates everything before an overwrite deletes anything
        prepare(out, mode)
        save_config(out, config)
    if mode == "resume" and "steps" in (given or {}):
        save_config(out, config)
    if trace_users or (out / "traces").is_dir():
        recorder = attach_user_traces(platform, trace_users or len(list((out / "traces").glob("user-*"))),
                                      out / "traces")
    else:
        recorder = None
    if progress:
        progress(platform.step)
    history = platform.run(progress=progress)
    platform.checkpoint()
    if recorder is not None:
        recorder.close()
    write_metrics(out, config, history, platform.provenance())
    return history
