"""`audit validate`: the verdict logic by hand, and the audit ranking the sandbox's knobs on a reduced grid."""

from __future__ import annotations

import json

import pytest

from audit.validation import ValidationSettings, _level_block, engagement_concentration, run_validation
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


def test_engagement_concentration_by_hand():
    from recorder.trace import Action, Category, Trace
    from tests.builders import make_header, make_step

    steps, index = [], 0
    for top, watch, like, n in (("Food", 15.0, True, 10), ("Games", 3.0, False, 10), ("Music", 6.0, False, 10),
                                ("Dance", 30.0, True, 9)):  # Dance: too few views to count
        for _ in range(n):
            steps.append(make_step(index, watch, category=Category((top,)),
                                   actions=(Action("like"),) if like else ()))
            index += 1
    # durations are 30 s: Food 0.5 + 1 like, Games 0.1, Music 0.2 -> best 1.5 minus median 0.2
    assert engagement_concentration(Trace(make_header("p"), tuple(steps))) == pytest.approx(1.3)
    assert engagement_concentration(Trace(make_header("p"), tuple(steps[:10]))) == 0.0  # one category: no contrast
