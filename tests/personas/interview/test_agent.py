"""The interview agent: questions cite examples and never repeat, sections end on goals or budget, resume, repair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from personas.analysis import NotEnoughDataError, analyse
from personas.interview.agent import MODEL_ERRORS_FILE, InterviewAgent
from personas.interview.outline import load_outline
from personas.interview.prompts import similarity
from personas.interview.transcript import EVENTS_FILE, TORN_FILE, TranscriptError
from personas.models import ScriptedChatModel
from recorder.trace import Trace
from tests.builders import make_header, make_step
from tests.personas.interview.scripted import responder


def _run(agent: InterviewAgent, stop_after: int | None = None) -> None:
    while (turn := agent.next_question()) is not None:
        if stop_after is not None and turn.turn_id > stop_after:
            return
        agent.answer(f"answer to question {turn.turn_id}")


def test_full_interview_visits_every_section_without_repeating(tmp_path: Path, features, scripted) -> None:
    outline = load_outline()
    agent = InterviewAgent.start(scripted, tmp_path / "iv", outline, features)
    _run(agent)
    assert agent.finished
    turns = agent.turns
    assert [s.id for s in outline.sections] == list(dict.fromkeys(t.section for t in turns))
    for i, first in enumerate(turns):
        assert all(similarity(first.question, later.question) < 0.8 for later in turns[i + 1:])
    # The scripted judge says goals are met after two answers, so a budget-3 section stops at 2.
    assert len(agent.state.section_turns("attention")) == 2
    ends = {e["section"]: e["reason"] for e in agent.state.section_ends}
    assert ends["attention"] == "goals_met" and ends["usage_context"] == "budget"
    cited = [t for t in turns if t.cites]
    assert cited and 'you watched "' in cited[0].question and " s but skipped " in cited[0].question
    assert all(agent.example(c) is not None for t in cited for c in t.cites)
    saved = json.loads((tmp_path / "iv" / "state.json").read_text())
    assert saved["finished"] and saved["answered"] == len(turns)


def test_near_duplicate_question_is_regenerated(tmp_path: Path, features) -> None:
    first = json.dumps({"question": "What makes you open the app at night?", "cites": []})
    again = json.dumps({"question": "what makes you open the app at night", "cites": []})
    fresh = json.dumps({"question": "Who do you usually watch with, if anyone?", "cites": []})
    model = ScriptedChatModel([first, json.dumps({"goals_met": False}), again, fresh])
    agent = InterviewAgent.start(model, tmp_path / "iv", load_outline(), features)
    agent.answer("at night in bed") if agent.next_question() else None
    assert agent.next_question().question == "Who do you usually watch with, if anyone?"
    assert "repeats an earlier one" in model.calls[3].last_user_text


def test_malformed_output_is_retried_then_falls_back_and_is_logged(tmp_path: Path, features) -> None:
    model = ScriptedChatModel(["sure! here you go", json.dumps({"question": "How long do you scroll at night?"})])
    agent = InterviewAgent.start(model, tmp_path / "iv", load_outline(), features)
    assert agent.next_question().question == "How long do you scroll at night?"
    assert agent.next_question().source == "model" and "no '{' found" in model.calls[1].last_user_text

    broken = ScriptedChatModel(["no json"] * 3)
    other = InterviewAgent.start(broken, tmp_path / "iv2", load_outline(), features)
    turn = other.next_question()
    assert turn.source == "fallback" and "usually scroll" in turn.question and len(broken.calls) == 3
    logged = [json.loads(line) for line in (tmp_path / "iv2" / MODEL_ERRORS_FILE).read_text().splitlines()]
    assert logged[0]["task"] == "ask_question" and len(logged[0]["attempts"]) == 3


def test_interrupted_interview_resumes_without_losing_answers(tmp_path: Path, features) -> None:
    folder = tmp_path / "iv"
    agent = InterviewAgent.start(ScriptedChatModel(responder), folder, load_outline(), features)
    _run(agent, stop_after=3)
    pending = agent.state.pending
    assert pending is not None and pending.turn_id == 4
    with (folder / EVENTS_FILE).open("a") as handle:  # a crash in the middle of writing the next event
        handle.write('{"event": "answer", "turn_id": 4, "te')
    resumed = InterviewAgent.resume(ScriptedChatModel(responder), folder)
    assert (folder / TORN_FILE).read_text().startswith('{"event": "answer"')
    assert [t.answer for t in resumed.turns[:3]] == [f"answer to question {i}" for i in (1, 2, 3)]
    assert resumed.next_question() == pending  # the same question again, not a new one
    _run(resumed)
    assert resumed.finished and all(t.answered for t in resumed.turns)
    with pytest.raises(TranscriptError, match="already exists"):
        InterviewAgent.start(ScriptedChatModel(responder), folder, load_outline(), features)


def test_empty_answer_and_empty_trace_give_clear_errors(tmp_path: Path, features, scripted) -> None:
    agent = InterviewAgent.start(scripted, tmp_path / "iv", load_outline(), features)
    agent.next_question()
    with pytest.raises(ValueError, match="answer is empty"):
        agent.answer("   ")
    with pytest.raises(NotEnoughDataError, match="at least 5 videos"):
        analyse([Trace(make_header("empty"), ())])
    with pytest.raises(TranscriptError, match="no interview to resume"):
        InterviewAgent.resume(scripted, tmp_path / "nothing")
    assert make_step(0)  # the builders still produce valid steps (guards the fixture above)
