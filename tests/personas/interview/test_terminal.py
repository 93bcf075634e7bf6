"""The real `personaact interview run` in a tmux pane: answer, stop, resume, finish, persona written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.builders import REPO
from tests.personas.interview.fake_openai import fake_openai_server
from tests.personas.interview.scripted import responder

PERSONAACT = Path(sys.executable).with_name("personaact")


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def _wait(predicate, what: str, pane: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; the pane shows:\n{_tmux('capture-pane', '-p', '-t', pane)}")


def _pending(out: Path) -> int | None:
    try:
        turns = json.loads((out / "state.json").read_text())["turns"]
    except (OSError, ValueError, KeyError):
        return None
    return turns[-1]["turn_id"] if turns and turns[-1]["answer"] is None else None


def _session(name: str, command: list[str]) -> str:
    shell = " ".join(f"'{part}'" for part in command) + "; echo EXIT=$?; sleep 120"
    _tmux("new-session", "-d", "-s", name, "-x", "200", "-y", "50", "-c", str(REPO), shell)
    return name


def _answer_until(out: Path, pane: str, last_turn: int | None) -> None:
    """Type an answer whenever a new question is pending; stop (with /quit) after `last_turn`."""
    answered = 0
    while True:
        _wait(lambda answered=answered: _pending(out) not in (None, answered)
              or "EXIT=" in _tmux("capture-pane", "-p", "-t", pane),
              "the next question", pane)
        turn = _pending(out)
        if turn is None or turn == answered:
            return
        if last_turn is not None and turn > last_turn:
            _tmux("send-keys", "-t", pane, "/quit", "Enter")
            return
        _tmux("send-keys", "-t", pane, "-l", f"My answer number {turn}, typed in the terminal.")
        _tmux("send-keys", "-t", pane, "Enter")
        answered = turn


@pytest.mark.slow
def test_terminal_interview_stops_and_resumes(tmp_path: Path, trace_folder: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required for this test: apt-get install -y tmux")
    out = tmp_path / "iv"
    with fake_openai_server(responder) as (url, calls):
        base = [str(PERSONAACT), "interview", "run", "--out", str(out), "--set", "chat.backend=http",
                "--set", f"chat.base_url={url}", "--set", "chat.model=fake"]
        first = _session(f"iv-{uuid.uuid4().hex[:8]}", base + [str(trace_folder)])
        try:
            _answer_until(out, first, last_turn=3)
            _wait(lambda: "EXIT=0" in _tmux("capture-pane", "-p", "-t", first), "the first run to stop", first)
            screen = _tmux("capture-pane", "-p", "-t", first)
            assert "3 answers saved" in screen and "--resume" in screen and "you watched" in screen
        finally:
            _tmux("kill-session", "-t", first)
        second = _session(f"iv-{uuid.uuid4().hex[:8]}", base + ["--resume"])
        try:
            _answer_until(out, second, last_turn=None)
            _wait(lambda: "EXIT=0" in _tmux("capture-pane", "-p", "-t", second), "the interview to finish", second)
        finally:
            _tmux("kill-session", "-t", second)
    state = json.loads((out / "state.json").read_text())
    assert state["finished"] and state["answered"] == len(state["turns"]) >= 12
    assert [t["answer"] for t in state["turns"][:3]] == [f"My answer number {i}, typed in the terminal." for i in (1, 2, 3)]
    persona = json.loads((out / "persona.json").read_text())
    assert persona["schema_version"] == 1 and set(persona["traits"]) >= {"novelty_tolerance", "social_sensitivity"}
    assert (out / "persona.md").read_text().startswith("# Persona ")
    assert any(call.startswith("TASK: synthesise_persona") for call in calls)
