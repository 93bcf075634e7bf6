"""Recorded simulated users: chosen users' sessions written as Traces, so personas can be fitted on them.

Each traced user gets a TraceWriter folder `<folder>/user-NNNNNN/` (recorded_by="sandbox", platform="sandbox",
persona_id="userNNNNNN"); every video the user was shown is one Step with its watch time, likes, comments and
shares, the video's metadata and its platform category (source "platform", confidence 1). One world step is one
app session on a virtual clock: sessions start `SESSION_GAP_S` apart and videos follow each other by watch time.
A resumed run skips steps a trace already holds, so a trace never repeats a video.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recorder.store import TraceReader, TraceWriter
from recorder.trace import Action, Category, Step, TraceHeader, VideoMeta

if TYPE_CHECKING:
    from sandbox.config import SandboxConfig
    from sandbox.platform import Platform, StepOutcome

START = datetime(2026, 1, 1, tzinfo=UTC)
SESSION_GAP_S = 3600.0  # virtual seconds between two world steps (one app session each)
TRACES = "traces"


def pick_trace_users(n_users: int, k: int, seed: int) -> np.ndarray:
    """`k` distinct simulated users chosen with their own seeded stream (the world's stream is not touched)."""
    if not 0 <= k <= n_users:
        raise ValueError(f"trace_users must lie in [0, users={n_users}], got {k}")
    rng = np.random.default_rng([seed, 0x7ACE])
    return np.sort(rng.choice(n_users, size=k, replace=False)).astype(np.int64)


class UserTraces:
    """A step observer that appends the traced users' videos to their Traces."""

    def __init__(self, platform: Platform, users: Sequence[int] | np.ndarray, folder: Path):
        self.folder = Path(folder)
        self.users = np.asarray(users, np.int64)
        self.writers: dict[int, TraceWriter] = {}
        self.last_step: dict[int, int] = {}
        extra = {"recommender": platform.pipeline.name, "seed": platform.config.seed,
                 "knobs": {k: float(v) for k, v in zip(("personalisation", "exploration", "inertia"),
                                                        platform.profiles.knobs[0] if platform.profiles.n else ())}}
        for uid in self.users.tolist():
            path = self.folder / f"user-{uid:06d}"
            if (path / "trace.json").is_file():
                steps = list(TraceReader(path).steps())
                self.last_step[uid] = int(steps[-1].extra.get("step", -1)) if steps else -1
                self.writers[uid] = TraceWriter.resume(path)
            else:
                header = TraceHeader(f"sandbox-s{platform.config.seed}-user{uid:06d}", "sandbox", "sandbox", START,
                                     persona_id=f"user{uid:06d}", extra={**extra, "user": uid})
                self.writers[uid] = TraceWriter.create(path, header)
                self.last_step[uid] = -1

    def __call__(self, platform: Platform, outcome: StepOutcome) -> None:
        """Append this step's videos of every traced user who was active."""
        rows = {int(u): r for r, u in enumerate(outcome.users.tolist())}
        r = outcome.responses
        for uid in self.users.tolist():
            row = rows.get(uid)
            if row is None or self.last_step[uid] >= outcome.step:
                continue
            at = START + timedelta(seconds=SESSION_GAP_S * outcome.step)
            for col, item in enumerate(outcome.slates[row].tolist()):
                if item < 0 or not r.viewed[row, col]:
                    continue
                watch = float(r.watch_s[row, col])
                self.writers[uid].append(self._step(platform, uid, item, at, watch, r, row, col, outcome.step))
                at += timedelta(seconds=watch)
            self.last_step[uid] = outcome.step

    def _step(self, platform: Platform, uid: int, item: int, at: datetime, watch: float, r: Any, row: int, col: int,
              step: int) -> Step:
        record = platform.catalogue.item(item)
        actions = [Action(name) for name, done in (("like", r.liked), ("share", r.shared)) if done[row, col]]
        if r.commented[row, col]:
            actions.append(Action("comment", text="nice"))
        meta = VideoMeta(video_id=f"sbx-{item}", author=f"creator{record.creator:04d}",
                         caption=f"{record.title} " + " ".join(f"#{t}" for t in record.tags), hashtags=record.tags,
                         duration_s=round(record.duration_s, 2))
        return Step(self.writers[uid].next_index, at, round(watch, 3), tuple(actions), meta,
                    Category(record.category, "platform", 1.0), extra={"step": step, "item": item})

    def close(self, ended_at: datetime | None = None) -> list[Path]:
        """Stamp end times and close every trace; returns the trace folders."""
        for writer in self.writers.values():
            writer.update_header(ended_at=ended_at or START)
            writer.close()
        return [self.folder / f"user-{uid:06d}" for uid in self.users.tolist()]


def attach_user_traces(platform: Platform, k: int, folder: Path) -> UserTraces:
    """Record `k` simulated users (chosen from the seed) of `platform` into `folder` from now on."""
    recorder = UserTraces(platform, pick_trace_users(platform.users.n, k, platform.config.seed), folder)
    platform.observers.append(recorder)
    return recorder


def trace_users(config: SandboxConfig, k: int, folder: Path,
                progress: Callable[[int], None] | None = None) -> list[Path]:
    """Run a world for config.steps steps and write `k` of its simulated users' sessions as Traces."""
    from sandbox.platform import Platform

    platform = Platform(config)
    recorder = attach_user_traces(platform, k, Path(folder))
    platform.run(progress=progress)
    ended = START + timedelta(seconds=SESSION_GAP_S * platform.step)
    return recorder.close(ended)
