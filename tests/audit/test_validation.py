"""`audit validate`: the verdict logic by hand, and the audit ranking the sandbox's knobs on a reduced grid."""

from __future__ import annotations

import json

import pytest

from audit.validation import ValidationSettings, _level_block, run_validation
from recorder.errors import PersonaActError


def test_verdict_needs_strict_order_and_disjoint_extremes():
    good = _level_block("inertia", "bep", "decreasing", [0.0, 0.5, 1.0], [[0.30, 0.32, 0.31], [0.2, 0.21, 0.19],
                                                                           [0.05, 0.06, 0.04]])
    assert good["ranking_ok"] and good["extremes_disjoint"] and good["levels"][0]["n"] == 3
    tie = _level_block("inertia", "bep", "decreasing", [0.0, 0.5, 1.0], [[0.3, 0.3], [0.31, 0.29], [0.1, 0.1]])
    assert not tie["ranking_ok"]  # 0.3 then 0.3 is not strictly decreasing
    wide = _level_block("p", "d", "increasing", [0.0, 1.0], [[0.0, 0.4], [0.3, 0.5]])
    assert wide["ranking_ok"] and not wide["extremes_disjoint"]
    with pytest.raises(PersonaActError, match="seeds"):
        ValidationSettings(seeds=1)


@pytest.mark.slow
def test_audit_ranks_the_sandbox_knobs(tmp_path):
    settings = ValidationSettings(inertia_levels=(0.0, 1.0), personalisation_levels=(0.0, 1.0), seeds=3,
                                  depth_steps=200, breadth_steps=300, users=200, creators=80, user_videos=200,
                                  bootstrap=50)
    report = run_validation(settings, tmp_path / "v")
    on_disk = json.loads((tmp_path / "v" / "validation.json").read_text())
    assert on_disk["kind"] == "validation" and on_disk["passed"] == report["passed"]
    assert report["depth"]["ranking_ok"], report["depth"]["levels"]
    assert report["breadth"]["ranking_ok"], report["breadth"]["levels"]
    assert all(len(level["values"]) == 3 for level in report["depth"]["levels"])
    with pytest.raises(PersonaActError, match="other settings"):
        run_validation(ValidationSettings(seeds=2), tmp_path / "v")
