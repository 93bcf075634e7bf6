"""Files a run leaves behind: one incremental Parquet dataset of impressions, written atomically part by part.

`impressions/` holds `part-NNNNNN.parquet` files, each covering the steps from NNNNNN up to the next checkpoint;
a part is written (atomically) right before the checkpoint that covers it, so after a crash the parts and the
checkpoint agree, and a resumed run first drops any part that starts at or after the checkpoint's step.
Read the whole dataset with `read_logs(folder)` (or `pandas.read_parquet(folder / "impressions")`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from recorder.files import atomic_write_bytes

IMPRESSIONS = "impressions"


class ImpressionLog:
    """Buffers each step's impression columns and writes them as one Parquet part per checkpoint interval."""

    def __init__(self, folder: Path):
        self.folder = Path(folder) / IMPRESSIONS
        self._buffer: list[dict[str, Any]] = []
        self._first: int | None = None

    def add(self, step: int, columns: dict[str, Any]) -> None:
        """Keep one step's columns until the next flush."""
        if self._first is None:
            self._first = step
        self._buffer.append(columns)

    def flush(self) -> Path | None:
        """Write the buffered steps as one part (no-op when empty)."""
        if not self._buffer or self._first is None:
            return None
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pydict({k: np.concatenate([np.asarray(b[k]) for b in self._buffer])
                                      for k in self._buffer[0]})
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        path = self.folder / f"part-{self._first:06d}.parquet"
        atomic_write_bytes(path, buffer.getvalue())
        self._buffer, self._first = [], None
        return path

    def truncate(self, step: int) -> None:
        """Drop parts that start at or after `step` (written before a crash, beyond the checkpoint)."""
        for part in self.folder.glob("part-*.parquet"):
            if int(part.stem.split("-")[1]) >= step:
                part.unlink()
        self._buffer, self._first = [], None


def read_logs(folder: Path) -> Any:
    """The run's impressions as one pandas DataFrame (steps in order)."""
    import pandas as pd

    parts = sorted((Path(folder) / IMPRESSIONS).glob("part-*.parquet"))
    if not parts:
        raise FileNotFoundError(f"{folder}: no {IMPRESSIONS}/part-*.parquet (was write_logs off?)")
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
