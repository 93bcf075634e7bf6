"""Files a run leaves behind: per-step Parquet logs, checkpoints and metrics, all written atomically."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import pandas as pd

from recorder.errors import PersonaActError
from recorder.files import atomic_write_bytes

CHECKPOINT = "checkpoint.pkl"


class CheckpointError(ValueError, PersonaActError):
    """A checkpoint file cannot be read back; the message names it and how to go on."""
LOGS = "logs"


def write_step_log(folder: Path, step: int, columns: dict[str, Any]) -> Path:
    """One Parquet file of a step's impressions (rewritten identically when a resumed run replays the step)."""
    path = folder / LOGS / f"step-{step:06d}.parquet"
    buffer = io.BytesIO()
    pd.DataFrame(columns).to_parquet(buffer, index=False)
    atomic_write_bytes(path, buffer.getvalue())
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
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as err:
        raise CheckpointError(f"{path}: corrupt or from another version ({type(err).__name__}: {err}); "
                              "start again without --resume, or in a new --out folder") from err
