"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import PUBLIC_DATA


@pytest.fixture
def public_data() -> Path:
    """The shared public PersonaAct sessions (CI clones with shared/ beside the repo)."""
    if not PUBLIC_DATA.is_dir():
        pytest.fail(f"public sample data missing at {PUBLIC_DATA}; the repo expects ../shared beside it")
    return PUBLIC_DATA
