"""Shared builders for audit tests: a small seeded sandbox world and a fitted, sampling statistical policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from personas.policy import SimplePersona
from personas.policy.statistical import StatisticalPersonaModel, StatisticalPolicy, StatisticalPolicyConfig
from recorder.trace import Action, Category, Step, TraceHeader

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True, scope="session")
def _torch_one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def persona_steps(n: int = 60, favourite: str = "Gaming") -> list[Step]:
    """A persona who watches `favourite` long and likes it, and skips everything else."""
    tops = [favourite, "Knowledge", "Music", "Food", "Sports"]
    out = []
    for i in range(n):
        top = tops[i % len(tops)]
        fav = top == favourite
        out.append(Step(i, START + timedelta(seconds=20 * i), 25.0 + i % 7 if fav else 1.0 + (i % 3) * 0.5,
                        (Action("like"),) if fav and i % 2 == 0 else (), category=Category((top,), "platform", 1.0)))
    return out


def make_policy(persona_id: str = "p1", seed: int = 0) -> StatisticalPolicy:
    """A sampling statistical policy fitted on `persona_steps`."""
    model = StatisticalPersonaModel.fit(persona_steps(), persona_id)
    return StatisticalPolicy(model, StatisticalPolicyConfig(seed=seed, deterministic=False, min_category_samples=5))


def header(trace_id: str = "audit-1", persona_id: str = "p1") -> TraceHeader:
    """An agent trace header."""
    return TraceHeader(trace_id, "agent", "sandbox", START, persona_id=persona_id)


@pytest.fixture
def persona() -> SimplePersona:
    return SimplePersona("p1")
