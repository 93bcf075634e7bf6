"""The control account's viewer: persona-free, watches a fixed share of every video, never engages."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from personas.policy import Decision, PersonaLike, SimplePersona
from recorder.errors import PersonaActError
from recorder.feed import Observation
from recorder.trace import Step

CONTROL = cast(PersonaLike, SimplePersona("control"))  # frozen, so not structurally a settable PersonaLike


@dataclass(frozen=True)
class ControlPolicy:
    """Policy of the breadth protocol's control account: `fraction` of each video's duration (or `default_s`)."""

    fraction: float = 0.5
    default_s: float = 8.0  # when the feed cannot read the duration (most phone apps)
    max_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction <= 1.0:
            raise PersonaActError(f"control fraction: must lie in (0, 1], got {self.fraction}")
        if self.default_s < 0 or self.max_s <= 0:
            raise PersonaActError("control default_s must be >= 0 and max_s > 0")

    def act(self, persona: PersonaLike, observation: Observation, history: Sequence[Step]) -> Decision:
        """Watch the fixed share; no like, comment, share, follow or not-interested."""
        started = time.perf_counter()
        duration = observation.meta.duration_s
        watch = self.default_s if duration is None else self.fraction * duration
        return Decision(min(self.max_s, watch), latency_s=time.perf_counter() - started)
