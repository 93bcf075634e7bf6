"""`personaact audit breadth|depth` and `personaact trace categorise` through the root command."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from audit.protocols import AuditError
from personaact.cli import app
from personas.analysis import analyse
from personas.persona import Persona, Trait, save_persona
from recorder.store import read_trace, write_trace
from recorder.trace import Step, Trace, TraceHeader, VideoMeta
from tests.audit.conftest import START, persona_steps

LEVELS = {"content_vs_creator": "content", "emotion_regulation": "high", "novelty_tolerance": "low",
          "social_sensitivity": "medium"}


def _persona_files(tmp_path):
    trace = Trace(TraceHeader("p1-t", "human", "douyin", START, persona_id="p1"), tuple(persona_steps()))
    write_trace(tmp_path / "traces" / "p1-t", trace)
    traits = {n: Trait(n, lvl, "because") for n, lvl in LEVELS.items()}
    save_persona(Persona("p1", "I watch games.", traits, analyse([trace])), tmp_path / "persona.json")
    return tmp_path / "persona.json", tmp_path / "traces"


def test_breadth_and_depth_on_the_sandbox(tmp_path):
    persona, traces = _persona_files(tmp_path)
    world = ["--set", "users=60", "--set", "creators=12", "--set", "warmup_steps=2"]
    result = CliRunner().invoke(app, ["audit", "breadth", "--persona", str(persona), "--traces", str(traces),
                                      "--steps", "40", "--window", "20", "--out", str(tmp_path / "b"), *world])
    assert result.exit_code == 0, result.output
    assert "relative diversity decline" in result.output
    assert json.loads((tmp_path / "b" / "results.json").read_text())["protocol"] == "breadth"
    again = CliRunner().invoke(app, ["audit", "breadth", "--persona", str(persona), "--traces", str(traces),
                                     "--steps", "40", "--window", "20", "--out", str(tmp_path / "b"), *world])
    assert isinstance(again.exception, AuditError) and "--resume" in str(again.exception)  # never overwritten
    result = CliRunner().invoke(app, ["audit", "depth", "--persona", str(persona), "--traces", str(traces),
                                      "--steps", "30", "--out", str(tmp_path / "d"), *world])
    assert result.exit_code == 0, result.output
    assert "BEP" in result.output


def test_trace_categorise_command(tmp_path):
    steps = (Step(0, START, 3.0, meta=VideoMeta(caption="今天 #王者荣耀 上分")),)
    write_trace(tmp_path / "t", Trace(TraceHeader("t", "human", "douyin", START), steps))
    result = CliRunner().invoke(app, ["trace", "categorise", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    assert read_trace(tmp_path / "t").steps[0].category.path == ("Gaming", "MOBA")
