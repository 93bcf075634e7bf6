"""Files a run leaves behind: per-step Parquet logs, checkpoints and metrics, all written atomically."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

CHECKPOINT = "checkpoint.pkl"
LOGS = "logs"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file beside `path`, fsync, rename over it (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_step_log(folder: Path, step: int, columns: dict[str, Any]) -> Path:
    """One Parquet file of a step's impressions (rewritten identically when a resumed run replays the step)."""
    path = folder / LOGS / f"step-{step:06d}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        pd.DataFrame(columns).to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_logs(folder: Path) -> pd.DataFrame:
    """All step logs of a run folder as one DataFrame."""
    files = sorted((Path(folder) / LOGS).glob("step-*.parquet"))
    if not files:
        raise FileNotFoundError(f"{folder}: no {LOGS}/step-*.parquet files (was write_logs off?)")
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def save_checkpoint(folder: Path, state: Any) -> Path:
    """Pickle the simulation state atomically."""
    path = Path(folder) / CHECKPOINT
    atomic_write_bytes(path, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    return path


def load_checkpoint(folder: Path) -> Any:
    """Unpickle the state saved by `save_checkpoint`; a clear error when there is none."""
    path = Path(folder) / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint to resume from; run without --resume first")
    with path.open("rb") as handle:
        return pickle.load(handle)
