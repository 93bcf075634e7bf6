"""The compact interview style for small models: plain-text prompts, reply clean-up, cue-read traits."""

from __future__ import annotations

from pathlib import Path

import pytest

from personas.interview.agent import InterviewAgent, InterviewConfig
from personas.interview.cues import read_traits
from personas.interview.demo import interview_simulated
from personas.interview.outline import load_outline
from personas.interview.simulated import SimulatedInterviewee, load_hidden_personas, trait_recovery
from personas.interview.small_model import clean_reply, ensure_fact, parse_question, repeated_sentence_count
from personas.interview.transcript import Turn
from personas.models import Message, ScriptedChatModel
from personas.synthesis import synthesise

COMPACT = InterviewConfig(style="compact", json_retries=1)


def small_model_like(messages: list[Message]) -> str:
    """Replies the way the 135M model does: questions without '?', answers that loop, no JSON."""
    last = messages[-1].text
    if last.startswith("Topic:"):
        goal = last.split("\n")[0].removeprefix("Topic: ")
        return f"Could you tell me more about {goal}"  # generation stopped at the '?' stop string
    if last.startswith("Question:"):
        facts = [line[2:] for line in last.split("\n") if line.startswith("- ")]
        return " ".join(facts) + " I like it. I like it. I like it. I like it."
    return "I watch videos to relax and I share the funny ones. I watch videos to relax."


def test_clean_reply_cuts_loops_and_repeats() -> None:
    looped = "I'm really into the latest ones. " * 30
    assert clean_reply(looped) == "I'm really into the latest ones."
    assert repeated_sentence_count(looped) == 30 and repeated_sentence_count(clean_reply(looped)) == 1
    assert clean_reply("I scroll at night. It calms me. I scroll to scroll to scroll to") == "I scroll at night. It calms me."
    assert clean_reply("One. Two. Three. Four.", max_sentences=2) == "One. Two."


def test_parse_question_and_fact() -> None:
    assert parse_question("Question: Why did you stay so long") == "Why did you stay so long?"
    with pytest.raises(ValueError, match="no usable question"):
        parse_question("Sure!")
    assert ensure_fact("You watched it for 41 s. Why?", "you watched it for 41 s") == ("You watched it for 41 s. Why?", False)
    assert ensure_fact("Why?", "you watched it for 41 s")[1] is True


def test_compact_interview_asks_model_questions_citing_examples(tmp_path: Path, features) -> None:
    model = ScriptedChatModel(small_model_like)
    agent = InterviewAgent.start(model, tmp_path / "iv", load_outline().limited(3, 1), features, COMPACT)
    hidden = load_hidden_personas()[0]
    interview_simulated(agent, SimulatedInterviewee(model, hidden, style="compact", answer_tokens=40), echo=False)
    turns = agent.turns
    assert len(turns) == 3 and all(t.source.startswith("model") for t in turns)
    assert all(t.question.endswith("?") for t in turns)
    assert any(t.cites for t in turns) and any('skipped "' in t.question for t in turns)
    assert all(repeated_sentence_count(t.answer or "") == 1 for t in turns)
    # Compact prompts stay short and never ask for JSON; answers and questions have their own token caps.
    assert all("JSON" not in c.messages[-1].text and len(c.messages[-1].text) < 600 for c in model.calls)
    assert {c.options.max_tokens for c in model.calls} == {COMPACT.question_tokens, 40}
    assert not any("judge" in c.messages[-1].text for c in model.calls)


def test_compact_question_falls_back_when_the_model_gives_nothing(tmp_path: Path, features) -> None:
    model = ScriptedChatModel(lambda messages: "Ok")
    agent = InterviewAgent.start(model, tmp_path / "iv", load_outline().limited(1, 1), features, COMPACT)
    turn = agent.next_question()
    assert turn.source == "fallback" and len(model.calls) == 2
    assert (tmp_path / "iv" / "model_errors.jsonl").read_text().count("ask_question") == 1


def test_cue_traits_and_compact_synthesis(features) -> None:
    answers = ["I follow specific creators and watch almost anything they post.",
               "I scroll to calm down when I'm stressed.",
               "I stick to the same few topics and swipe away anything unfamiliar.",
               "I never comment, and I keep to myself."]
    turns = [Turn(i + 1, "s", f"question {i}?", answer=a) for i, a in enumerate(answers)]
    levels = {name: reading.level for name, reading in read_traits(turns).items()}
    assert levels == {"content_vs_creator": "creator", "emotion_regulation": "high",
                      "novelty_tolerance": "low", "social_sensitivity": "low"}
    model = ScriptedChatModel(["I follow a few creators and scroll to calm down. I stick to what I know."])
    persona = synthesise(model, turns, features, "p1", style="compact")
    assert persona.source["synthesis"] == "model-narrative+interview-cues" and persona.narrative.startswith("I follow")
    hidden = load_hidden_personas()[0]  # creator / high / low / medium
    assert trait_recovery(hidden, persona).score == 3
    quotes = [e for e in persona.traits["novelty_tolerance"].evidence if e.kind == "quote"]
    assert quotes and quotes[0].turn_id == 3


def test_config_resolves_style_by_backend() -> None:
    assert InterviewConfig().for_backend("embedded").compact and not InterviewConfig().for_backend("http").compact
    with pytest.raises(ValueError, match="style must be one of"):
        InterviewConfig(style="tiny")


def test_hidden_personas_never_use_the_cue_readers_words() -> None:
    """Recovery is not circular: the role-player's prompt holds no cue word or hedge the reader looks for."""
    from personas.interview.cues import HEDGES, TRAIT_CUES, read_trait
    from personas.interview.simulated import TRAIT_STATEMENTS, load_hidden_personas
    from personas.interview.small_model import ANSWER_EXAMPLE

    cues = {cue for ups, downs in TRAIT_CUES.values() for cue in ups + downs} | set(HEDGES)
    texts = [text for levels in TRAIT_STATEMENTS.values() for text in levels.values()]
    texts += [hidden.role_prompt() for hidden in load_hidden_personas()] + list(ANSWER_EXAMPLE)
    for text in texts:
        found = sorted(cue for cue in cues if cue in text.lower())
        assert not found, (found, text)
    for name, levels in TRAIT_STATEMENTS.items():
        for level, text in levels.items():
            assert read_trait(name, [Turn(1, "s", "q?", answer=text)]) is None, (name, level)


def test_question_facts_never_read_as_clock_durations() -> None:
    from personas.interview.small_model import clock_phrase, fix_time_units, parse_question

    assert [clock_phrase(h) for h in (0, 1, 11, 12, 13, 23, 24)] == ["midnight", "1 am", "11 am", "noon", "1 pm", "11 pm",
                                                                       "midnight"]
    assert parse_question("You usually scroll for about 13:00 minutes. Why so long?") == \
        "You usually scroll for about 13 minutes. Why so long?"
    assert fix_time_units("about 11:00 hours, or 2:00 hrs") == "about 11 hours, or 2 hrs"
    assert fix_time_units("at 11:00 or 23:00, 11:30 minutes") == "at 11:00 or 23:00, 11:30 minutes"  # real clock times stay
