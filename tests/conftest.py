"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import PUBLIC_DATA


@pytest.fixture
def public_data() -> Path:
    """The public PersonaAct sample sessions shipped in data/personaact_raw."""
    if not PUBLIC_DATA.is_dir():
        pytest.fail(f"public sample data missing at {PUBLIC_DATA}; it is part of the repository (git checkout data/)")
    return PUBLIC_DATA
