"""Trivial baselines as Policies: the persona's training median, and the median of the session's last k views.

Both predict no engagement (the majority behaviour), so their action F1 is the share of views without any action.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from personas.policy.base import Decision, DecisionError, PersonaLike
from recorder.feed import Observation
from recorder.trace import Step


@dataclass(frozen=True)
class TrainingMedianPolicy:
    """Always the median watch time of the persona's training views."""

    median_s: float

    def __post_init__(self) -> None:
        if self.median_s < 0:
            raise DecisionError(f"TrainingMedianPolicy.median_s: must be >= 0, got {self.median_s}")

    def act(self, persona: PersonaLike, observation: Observation, history: Sequence[Step]) -> Decision:
        """The training median, no engagement."""
        return Decision(self.median_s)


@dataclass(frozen=True)
class LastKMedianPolicy:
    """The median of the session's last k (non-zero) watch times; the training median before any."""

    k: int
    fallback_s: float

    def __post_init__(self) -> None:
        if self.k < 1:
            raise DecisionError(f"LastKMedianPolicy.k: must be >= 1, got {self.k}")

    def act(self, persona: PersonaLike, observation: Observation, history: Sequence[Step]) -> Decision:
        """Median of the last k views, no engagement."""
        started = time.perf_counter()
        recent = [s.watch_s for s in history if s.watch_s > 0][-self.k:]
        watch = statistics.median(recent) if recent else self.fallback_s
        return Decision(watch, latency_s=time.perf_counter() - started)
