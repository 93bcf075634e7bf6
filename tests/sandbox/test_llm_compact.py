"""Compact style of sandbox LLM agents: lenient one-line parsing, fallbacks, style auto-resolution, scripted runs."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import sandbox.creators.llm_compact as compact_module
import sandbox.llm_style as style_module
import sandbox.llm_users as users_module
from personas.models.fake import ScriptedChatModel
from recorder.taxonomy import load_taxonomy
from sandbox.catalogue import ItemDraft
from sandbox.config import SandboxConfig
from sandbox.creators.base import CreatorProfile
from sandbox.creators.llm import GenreResolver, LLMCreator, LLMCreatorConfig, SlowDecision
from sandbox.creators.llm_compact import genre_options, parse_fast, parse_slow
from sandbox.creators.memory import CreatorMemory
from sandbox.llm_style import style_for
from sandbox.llm_users import LLMUserConfig, parse_compact_decision
from sandbox.platform import Platform

TAXONOMY = load_taxonomy()
GENRES = TAXONOMY.top_level
RESOLVER = GenreResolver(TAXONOMY)
OPTIONS = ["Food", "Music", "Gaming", "Travel"]


class Embedded(ScriptedChatModel):
    name = "smollm2-135m-instruct"  # what the embedded backend calls its model: 'auto' picks compact


@pytest.mark.parametrize("reply, expected", [
    ("WATCH 12 LIKE yes EXIT no", (12.0, True, False)),
    ("WATCH 1 EXTRA 1000", (1.0, False, False)),
    ("watch: 7.5s, like: true", (7.5, True, False)),
    ("I watch 90 seconds and like it", (20.0, True, False)),
    ("WATCH 3 LIKE EXIT yes", (3.0, False, True)),
    ("WATCH 4 no like, exit", (4.0, False, True)),
])
def test_compact_user_replies_parse_leniently(reply, expected):
    decision = parse_compact_decision(reply, 10.0)
    assert (decision.decision.watch_s, decision.decision.like, decision.exit) == expected


def test_compact_user_reply_without_a_number_falls_back():
    with pytest.raises(ValueError, match="no number of seconds"):
        parse_compact_decision("LIKE yes", 10.0)
    model = Embedded(lambda m: "WATCH 5 LIKE no" if "Music" in m[-1].text.split("Now:")[1] else "hmm, not sure")
    platform = Platform(SandboxConfig(users=30, creators=6, steps=1, recommender="pop", seed=2, user_kind="llm",
                                      llm_users=10, write_logs=False), user_model=model)
    platform.run()
    users = platform.users
    assert users.style == "compact" and "Answer as: WATCH" in model.calls[0].messages[-1].text
    assert model.calls[0].messages[2].role == "assistant"  # the worked example precedes the real question
    music = sum("Music" in c.messages[-1].text.split("Now:")[1] for c in model.calls)
    assert users.stats["decisions"] - users.stats["fallbacks"] == music


def test_style_resolves_by_model_and_can_be_forced():
    assert style_for("auto", Embedded([])) == "compact" and style_for("auto", ScriptedChatModel([])) == "json"
    assert style_for("json", Embedded([])) == "json" and style_for("compact", ScriptedChatModel([])) == "compact"
    assert LLMCreator(Embedded([])).style == "compact" and LLMCreator(ScriptedChatModel([])).style == "json"
    assert LLMCreator(Embedded([]), LLMCreatorConfig(style="json")).style == "json"
    for make in (lambda: LLMUserConfig(style="tiny"), lambda: LLMCreatorConfig(style="tiny")):
        with pytest.raises(ValueError, match="style must be one of auto, json, compact"):
            make()


@pytest.mark.parametrize("reply, expected", [
    ("EXPLORE 3", ("EXPLORE", ("Gaming",))),
    ("EXPLOIT Gaming 2. Lifestyle 3.", ("EXPLORE", ("Gaming",))),  # the mode follows the genre, not the word
    ("exploit: knowledge/science", ("EXPLORE", ("Knowledge", "Science"))),
    ("EXPLORE Food", ("EXPLOIT", ("Food",))),
    ("Travel", ("EXPLORE", ("Travel",))),
    ("Food", ("EXPLOIT", ("Food",))),
    ("I'd go with music this time", ("EXPLORE", ("Music",))),
])
def test_compact_slow_replies_parse_leniently(reply, expected):
    assert parse_slow(reply, OPTIONS, RESOLVER, {"Food"}) == expected


def test_compact_slow_reply_without_a_genre_is_rejected():
    with pytest.raises(ValueError, match="no genre"):
        parse_slow("EXPLORE something new", OPTIONS, RESOLVER, set())


def test_compact_fast_replies_become_items():
    plan = SlowDecision("EXPLORE", ("Animals",))
    draft = parse_fast("TITLE: My two cats try yoga\nTAGS: cats, yoga, cats, #funny", plan, TAXONOMY)
    assert draft == ItemDraft(("Animals", "Cats"), "My two cats try yoga", ("cats", "yoga", "funny"),
                              "My two cats try yoga - a Animals/Cats video.", explore=True)
    assert parse_fast('"Street food tour"', SlowDecision("EXPLOIT", ("Food",)), TAXONOMY).tags == ()
    for bad in ("", "TITLE: ok", "TITLE: Ten-minute dumplings for busy nights", "TITLE: go go go go go"):
        with pytest.raises(ValueError):
            parse_fast(bad, plan, TAXONOMY)


def test_genre_options_put_own_results_first_and_vary_the_rest():
    memory = CreatorMemory(CreatorProfile(4, "c4", "", ("Music",)), GENRES)
    memory.remember_creation(1, 0, GENRES.index("Food"), ItemDraft(("Food",), "soup", (), ""))
    memory.observe_feedback(np.array([1]), np.array([10]), np.array([5]), np.zeros(1), np.zeros(1))
    first, later = genre_options(memory.view(1)), genre_options(memory.view(2))
    assert first[:2] == ["Food", "Music"] and later[:2] == ["Food", "Music"] and len(set(first)) == 5
    assert first[2:] != later[2:]


def test_compact_creators_with_a_scripted_small_model_and_their_fallbacks():
    def answer(messages):
        text = messages[-1].text
        if "Next video?" in text:
            return "EXPLORE 2" if "Decide" not in text else ""
        return "TITLE: A brand new idea today\nTAGS: new, idea" if "EXPLORE" in text else "TAGS: food"

    memories = [CreatorMemory(CreatorProfile(c, f"c{c}", "", ("Food",)), GENRES) for c in range(3)]
    policy = LLMCreator(Embedded(answer))
    drafts = policy.decide_batch([m.view(0) for m in memories], np.random.default_rng(0))
    assert [d.mode for d in policy.decisions] == ["EXPLORE"] * 3 and policy.fallbacks == 0
    assert all(d.title == "A brand new idea today" and d.explore for d in drafts)
    assert [r["style"] for r in policy.log.records] == ["compact"] * 6
    stubborn = LLMCreator(Embedded(lambda m: "EXPLOIT 1" if "Next video?" in m[-1].text else "TAGS: food"))
    drafts = stubborn.decide_batch([m.view(0) for m in memories], np.random.default_rng(0))
    assert stubborn.fallbacks == 3 and all(isinstance(d, ItemDraft) for d in drafts)


def test_module_doctests():
    for module in (compact_module, style_module, users_module):
        assert doctest.testmod(module).failed == 0
