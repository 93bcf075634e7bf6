"""Fixture folders of every result kind (see fixtures.py) and one headless Chromium shared by the browser tests."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.reports import fixtures


@pytest.fixture
def results(tmp_path: Path) -> dict[str, Path]:
    """One folder per kind under tmp_path/results."""
    root = tmp_path / "results"
    return {"breadth": fixtures.audit(root / "breadth-p1", "breadth"),
            "depth": fixtures.audit(root / "depth-p1", "depth", feed="virtual", repeats=1),
            "breadth2": fixtures.audit(root / "breadth-p2", "breadth", persona="p2", feed="virtual"),
            "validation": fixtures.validation(root / "validation"),
            "sandbox_run": fixtures.sandbox_run(root / "run-mf"),
            "sandbox_compare": fixtures.sandbox_grid(root / "compare"),
            "sandbox_sweep": fixtures.sandbox_grid(root / "sweep", "sandbox_sweep"),
            "evaluation": fixtures.evaluation(root / "evaluation")}


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the module's tests (starting one costs about a second)."""
    from tests.reports.browser import chromium

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        driver = chromium(Path(profile))
        try:
            yield driver
        finally:
            driver.quit()
