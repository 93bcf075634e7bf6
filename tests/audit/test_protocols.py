"""Breadth and depth audits on a small sandbox world: folders, results.json per the contract, resume."""

from __future__ import annotations

import csv
import json

import pytest

from audit.feeds import SandboxSource, SandboxWorld
from audit.protocols import Agent, AuditError, AuditRun, AuditSpec
from recorder.store import STEPS_FILE, read_trace
from tests.audit.conftest import make_policy

WORLD = SandboxWorld(seed=1, users=60, creators=12, warmup_steps=2)


def agent() -> Agent:
    return Agent(_persona(), lambda r: make_policy(seed=r),
                 lambda r: make_policy(seed=r).reversed(), card={"persona_id": "p1", "narrative": "gamer"})


def _persona():
    from personas.policy import SimplePersona

    return SimplePersona("p1")


def test_breadth_writes_traces_results_and_manifest(tmp_path):
    spec = AuditSpec("breadth", steps=60, window=20, repeats=2, seed=3)
    results = AuditRun(spec, SandboxSource(WORLD), agent(), tmp_path / "b").run()
    for r in range(2):
        for account in ("persona", "control"):
            assert len(read_trace(tmp_path / "b" / "repeats" / f"r{r:03d}" / account)) == 60
    on_disk = json.loads((tmp_path / "b" / "results.json").read_text())
    assert on_disk == json.loads(json.dumps(results))
    assert on_disk["kind"] == "audit" and on_disk["schema_version"] == 1 and "depth" not in on_disk
    breadth = on_disk["breadth"]
    assert breadth["relative_decline"]["n"] == 2 and len(breadth["relative_decline"]["ci"]) == 2
    windows = breadth["accounts"]["persona"]["windows"]
    assert [(w["start"], w["end"]) for w in windows] == [(0, 20), (20, 40), (40, 60)]
    expected = breadth["per_repeat"][0]["persona"]["full"] - breadth["per_repeat"][0]["control"]["full"]
    assert breadth["per_repeat"][1]["persona"]["full"] - breadth["per_repeat"][1]["control"]["full"] + expected == \
        pytest.approx(2 * breadth["relative_decline"]["mean"])
    control = read_trace(tmp_path / "b" / "repeats" / "r000" / "control")
    assert not any(s.actions for s in control.steps)  # the control account never engages
    rows = list(csv.DictReader((tmp_path / "b" / "results.csv").open()))
    assert rows[0].keys() == {"metric", "account", "repeat", "window_start", "value", "ci_low", "ci_high", "n"}
    assert any(r["metric"] == "relative_decline" for r in rows)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["ended_at"] and manifest["seeds"] == [3, 4] and manifest["persona"]["card_hash"]
    assert manifest["taxonomy"]["version"] == 1 and "incidents" in manifest


def test_depth_bep_and_top10(tmp_path):
    spec = AuditSpec("depth", steps=40, repeats=1, seed=2, bootstrap=100)
    results = AuditRun(spec, SandboxSource(WORLD), agent(), tmp_path / "d").run()
    depth = results["depth"]
    assert 0.0 <= depth["bep"]["ci"][0] <= depth["bep"]["mean"] <= depth["bep"]["ci"][1] <= 1.0
    assert len(read_trace(tmp_path / "d" / "repeats" / "r000" / "account")) == 80
    assert depth["top10"]["cultivation"][0]["rank"] == 1
    assert all(row["marker"] in ("NEW", "up", "down", "=") for row in depth["top10"]["reversal"])
    assert results["persona"]["reversed_id"] == "p1-reversed"


def test_audit_refuses_a_used_folder_and_resumes_to_the_same_traces(tmp_path):
    spec = AuditSpec("breadth", steps=40, window=20, seed=5)
    AuditRun(spec, SandboxSource(WORLD), agent(), tmp_path / "whole").run()
    with pytest.raises(AuditError, match="--resume"):
        AuditRun(spec, SandboxSource(WORLD), agent(), tmp_path / "whole").run()

    class Killed(Exception):
        pass

    calls = {"n": 0}

    def kill_after(n):
        calls["n"] += n
        if calls["n"] == 31:
            raise Killed()

    with pytest.raises(Killed):
        AuditRun(spec, SandboxSource(WORLD), agent(), tmp_path / "cut", progress=kill_after).run()
    AuditRun(spec, SandboxSource(WORLD), agent(), tmp_path / "cut", resume=True).run()
    for account in ("persona", "control"):
        a = (tmp_path / "whole" / "repeats" / "r000" / account / STEPS_FILE).read_text()
        b = (tmp_path / "cut" / "repeats" / "r000" / account / STEPS_FILE).read_text()
        assert a == b
    assert json.loads((tmp_path / "cut" / "manifest.json").read_text())["resumes"]


@pytest.mark.slow
def test_sandbox_repeats_as_ray_tasks_match_the_sequential_run(tmp_path):
    spec = AuditSpec("breadth", steps=40, window=20, repeats=2, seed=1)
    sequential = AuditRun(spec, SandboxSource(WORLD), agent(), tmp_path / "seq").run()
    parallel = AuditRun(AuditSpec("breadth", steps=40, window=20, repeats=2, seed=1, ray=True), SandboxSource(WORLD),
                        agent(), tmp_path / "ray").run()
    assert parallel["breadth"] == sequential["breadth"]
    for r in range(2):
        a = (tmp_path / "seq" / "repeats" / f"r{r:03d}" / "persona" / STEPS_FILE).read_text()
        assert (tmp_path / "ray" / "repeats" / f"r{r:03d}" / "persona" / STEPS_FILE).read_text() == a
