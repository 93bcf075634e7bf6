"""The policy interface: (persona, observation, history) -> Decision, shared by audits and every policy kind."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol, runtime_checkable

from recorder.errors import PersonaActError
from recorder.feed import Observation
from recorder.trace import Action, Step


class DecisionError(ValueError, PersonaActError):
    """A decision value breaks a rule; the message names the field and what is allowed."""


@runtime_checkable
class PersonaLike(Protocol):
    """All a policy needs to know of a persona at the interface: its id (richer personas add more)."""

    @property
    def persona_id(self) -> str:
        """The persona's id (a read-only attribute is enough, so frozen dataclasses qualify)."""
        ...


@dataclass(frozen=True)
class SimplePersona:
    """A bare persona reference, for policies that carry their own fitted state (e.g. the statistical one)."""

    persona_id: str

    def __post_init__(self) -> None:
        if not isinstance(self.persona_id, str) or not self.persona_id.strip():
            raise DecisionError("SimplePersona.persona_id: must be a non-empty string")


@dataclass(frozen=True)
class Decision:
    """What the viewer does with the current video, and how long deciding took (seconds)."""

    watch_s: float
    like: bool = False
    comment: bool = False
    share: bool = False
    comment_text: str | None = None
    follow: bool = False
    not_interested: bool = False
    latency_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("watch_s", "latency_s"):
            value = getattr(self, name)
            try:  # float() of a huge JSON integer overflows: that is "not finite" too
                number = math.nan if isinstance(value, bool) or not isinstance(value, (int, float)) else float(value)
            except OverflowError:
                number = math.inf
            if math.isnan(number) or math.isinf(number) or number < 0:
                raise DecisionError(f"Decision.{name}: must be a finite number >= 0 (seconds), got {value!r:.80}")
            object.__setattr__(self, name, number)
        for name in ("like", "comment", "share", "follow", "not_interested"):
            if not isinstance(getattr(self, name), bool):
                raise DecisionError(f"Decision.{name}: must be true or false, got {getattr(self, name)!r}")
        if self.comment_text is not None:
            if not isinstance(self.comment_text, str) or not self.comment_text.strip():
                raise DecisionError(f"Decision.comment_text: must be non-empty text or absent, got {self.comment_text!r}")
            if not self.comment:
                raise DecisionError("Decision.comment_text: given without comment=true; set comment or drop the text")

    def actions(self) -> tuple[Action, ...]:
        """The decision as trace Actions (for writing the agent's own Step)."""
        out = [Action("like")] if self.like else []
        if self.comment:
            out.append(Action("comment", text=self.comment_text))
        if self.share:
            out.append(Action("share"))
        if self.follow:
            out.append(Action("follow"))
        if self.not_interested:
            out.append(Action("not_interested"))
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """Inverse of `to_dict`; unknown or missing fields are named."""
        if not isinstance(data, Mapping):
            raise DecisionError(f"Decision: expected an object such as {{\"watch_s\": 3.5}}, got {data!r:.80}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(map(str, set(data) - known))
        if unknown:
            raise DecisionError(f"Decision.{unknown[0]}: unknown field; known: {', '.join(sorted(known))}")
        if "watch_s" not in data:
            raise DecisionError("Decision.watch_s: missing; every decision says how long to watch")
        return cls(**data)


@runtime_checkable
class Policy(Protocol):
    """Decides what a persona does with a video, given what it already did in this session."""

    def act(self, persona: PersonaLike, observation: Observation, history: Sequence[Step]) -> Decision:
        """The decision for `observation`; `history` holds this session's earlier steps, oldest first."""
        ...


def observation_step(observation: Observation, decision: Decision, index: int) -> Step:
    """The Step an agent's trace records for acting on `observation` with `decision`."""
    return Step(index=index, appeared_at=observation.shown_at, watch_s=decision.watch_s,
                actions=decision.actions(), meta=observation.meta, category=observation.category,
                transcript=observation.transcript)
