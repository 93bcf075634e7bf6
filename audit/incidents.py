"""The one typed record of what disturbed a run: ads, live rooms, popups, crashes, reconnects, dump timeouts, login walls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from recorder.errors import PersonaActError

# How the device layer names what it noted (PhoneFeed.incidents) -> the field counting it here.
FEED_INCIDENT_FIELDS = {"popup": "popups", "crash": "crashes", "reconnect": "reconnects",
                        "dump_timeout": "dump_timeouts", "login_wall": "login_walls", "ad": "ads", "live": "lives",
                        "action_failed": "action_failures"}


class IncidentError(ValueError, PersonaActError):
    """An incident record holds a bad count."""


@dataclass(frozen=True)
class Incidents:
    """Counts of everything that got in the audit's way (each step's share is kept in its Step.extra)."""

    ads: int = 0
    lives: int = 0
    popups: int = 0
    crashes: int = 0
    reconnects: int = 0
    dump_timeouts: int = 0
    login_walls: int = 0
    action_failures: int = 0  # a like/comment/share/follow/not-interested the feed did not confirm

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise IncidentError(f"incidents.{f.name}: must be a whole number >= 0, got {value!r}")

    def __add__(self, other: Incidents) -> Incidents:
        return Incidents(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def bump(self, name: str, n: int = 1) -> Incidents:
        """A copy with one field (a field name or a device-layer incident kind) raised by `n`."""
        key = FEED_INCIDENT_FIELDS.get(name, name)
        if key not in {f.name for f in fields(self)}:
            raise IncidentError(f"incidents: unknown kind {name!r}; known: {', '.join(f.name for f in fields(self))}")
        return replace(self, **{key: getattr(self, key) + n})

    @property
    def total(self) -> int:
        """All incidents together."""
        return sum(getattr(self, f.name) for f in fields(self))

    def to_dict(self) -> dict[str, int]:
        """JSON-ready form (every field, zeros included)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def nonzero(self) -> dict[str, int]:
        """Only the fields that happened (what a Step's extra keeps)."""
        return {k: v for k, v in self.to_dict().items() if v}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Incidents:
        """Inverse of `to_dict`/`nonzero`; unknown keys are named."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise IncidentError(f"incidents.{unknown[0]}: unknown kind; known: {', '.join(sorted(known))}")
        return cls(**data)
