"""LLM creators: slow/fast thinking with a scripted model, repair/retry/fallback, own-history retrieval, logging."""

from __future__ import annotations

import doctest
import json
import logging
from pathlib import Path

import numpy as np
import pytest

import sandbox.creators.llm as llm_module
from personas.models.base import ModelUnavailableError
from personas.models.fake import ScriptedChatModel
from recorder.taxonomy import load_taxonomy
from sandbox.catalogue import ItemDraft
from sandbox.creators.base import CreatorProfile
from sandbox.creators.llm import (
    GenreResolver,
    LLMCreator,
    LLMCreatorConfig,
    llm_profiles,
    prompt_hash,
    retrieve_own_examples,
)
from sandbox.creators.memory import CreatorMemory

TAXONOMY = load_taxonomy()
GENRES = TAXONOMY.top_level


def slow(mode: str, genre: str) -> str:
    return json.dumps({"mode": mode, "genre": genre, "reason": "test"})


def item(title: str, genre: str, tags: tuple[str, ...] = ("t1", "t2")) -> str:
    return json.dumps({"title": title, "genre": genre, "tags": list(tags), "description": f"about {title}"})


def memory_with(creator: int, titles: list[tuple[str, tuple[str, str], int, int]], step: int = 3) -> CreatorMemory:
    """A creator memory holding own items (title, path, impressions, clicks) with feedback observed."""
    memory = CreatorMemory(CreatorProfile(creator, f"creator{creator}", "a test persona", ("Animals",)), GENRES)
    for k, (title, path, shown, clicks) in enumerate(titles):
        item_id = 100 * creator + k
        memory.remember_creation(item_id, k, GENRES.index(path[0]), ItemDraft(path, title, ("x",), "d"))
        memory.observe_feedback(np.array([item_id]), np.array([shown]), np.array([clicks]), np.zeros(1), np.zeros(1))
    return memory


@pytest.fixture
def views():
    a = memory_with(1, [("cat nap", ("Animals", "Cats"), 20, 6), ("soup", ("Food", "Cooking"), 20, 0)])
    b = memory_with(2, [("secret dog trick", ("Animals", "Dogs"), 30, 9)])
    return [a.view(3), b.view(3)]


def test_explore_and_exploit_decisions_are_parsed_and_items_generated(views):
    model = ScriptedChatModel([slow("EXPLOIT", "Animals/Cats"), slow("explore", "Knowledge"),
                               item("Cat yoga", "Animals/Cats"), item("Why the sky is blue", "Knowledge/Science")])
    policy = LLMCreator(model)
    drafts = policy.decide_batch(views, np.random.default_rng(0))
    assert [d.mode for d in policy.decisions] == ["EXPLOIT", "EXPLORE"]
    assert drafts[0] == ItemDraft(("Animals", "Cats"), "Cat yoga", ("t1", "t2"), "about Cat yoga", explore=False)
    assert drafts[1].category == ("Knowledge", "Science") and drafts[1].explore is True
    assert policy.fallbacks == 0 and policy.explore_ratio() == 0.5
    assert "Decide now." in model.calls[0].last_user_text and "Plan: EXPLORE Knowledge" in model.calls[3].last_user_text


def test_each_stage_is_one_batched_call():
    class CountingModel(ScriptedChatModel):
        batches: list[int] = []

        def chat_batch(self, conversations, options=None):
            self.batches.append(len(conversations))
            return super().chat_batch(conversations, options)

    views = [memory_with(c, []).view(0) for c in range(3)]
    model = CountingModel([slow("EXPLORE", "Music")] * 3 + [item("Song", "Music")] * 3)
    LLMCreator(model).decide_batch(views, np.random.default_rng(0))
    assert model.batches == [3, 3]
    unbatched = CountingModel([slow("EXPLORE", "Music"), item("Song", "Music")] * 3)
    unbatched.batches = []
    LLMCreator(unbatched, LLMCreatorConfig(batch=False)).decide_batch(views, np.random.default_rng(0))
    assert unbatched.batches == [1] * 6


def test_malformed_json_is_repaired_without_a_retry(views):
    sloppy = "Thinking... cats do well.\n```json\n{'mode': 'EXPLOIT', 'genre': 'animals/cats', 'reason': 'ok',}\n```"
    model = ScriptedChatModel([sloppy, "{'title': 'Cat 2', 'genre': '猫', 'tags': ['cat',],}"])
    policy = LLMCreator(model)
    draft = policy.decide(views[0], np.random.default_rng(0))
    assert len(model.calls) == 2 and policy.fallbacks == 0
    assert draft.category == ("Animals", "Cats") and draft.title == "Cat 2"


def test_bad_reply_is_retried_with_the_error_shown(views):
    model = ScriptedChatModel(["I would rather not say.", slow("EXPLOIT", "Underwater Basket Weaving"),
                               slow("EXPLOIT", "Knowlege / Sciense"), item("Atoms", "Knowledge/Science")])
    policy = LLMCreator(model, LLMCreatorConfig(max_retries=2))
    draft = policy.decide(views[0], np.random.default_rng(0))
    assert draft.category == ("Knowledge", "Science") and policy.fallbacks == 0
    assert "no '{' found" in model.calls[1].last_user_text
    assert "not in the taxonomy" in model.calls[2].last_user_text and "Knowledge" in model.calls[2].last_user_text


def test_fast_thinker_must_stay_in_the_planned_genre(views):
    model = ScriptedChatModel([slow("EXPLOIT", "Animals"), item("Drift race", "Automotive"), item("Dog", "Animals/Dogs")])
    draft = LLMCreator(model).decide(views[0], np.random.default_rng(0))
    assert draft.category == ("Animals", "Dogs")
    assert "must be inside Animals" in model.calls[2].last_user_text


def test_exhausted_retries_fall_back_with_a_warning_and_the_run_continues(views, caplog):
    model = ScriptedChatModel(lambda messages: "{}" if "writing your next video" in messages[0].text else "nonsense")
    policy = LLMCreator(model, LLMCreatorConfig(max_retries=2))
    with caplog.at_level(logging.WARNING, logger="sandbox.creators.llm"):
        drafts = policy.decide_batch(views, np.random.default_rng(0))
    assert all(isinstance(d, ItemDraft) for d in drafts)
    assert policy.fallbacks == 4 and all(d.fallback for d in policy.decisions)
    messages = [r.getMessage() for r in caplog.records if r.name == "sandbox.creators.llm"]
    assert any("slow thinker gave no usable decision" in m for m in messages)
    assert any("fast thinker gave no usable item" in m for m in messages)
    assert drafts[0].category[0] == policy.decisions[0].category[0]
    assert len(model.calls) == 12  # 2 creators x 2 stages x (1 try + 2 retries)


def test_a_failing_backend_falls_back_too(views):
    def broken(messages):
        from personas.models.base import ChatBackendError

        raise ChatBackendError("server said 500")

    policy = LLMCreator(ScriptedChatModel(broken))
    assert isinstance(policy.decide(views[1], np.random.default_rng(0)), ItemDraft) and policy.fallbacks == 2


def test_retrieval_uses_only_the_creators_own_history(views):
    model = ScriptedChatModel([slow("EXPLOIT", "Animals")] * 2 + [item("A", "Animals/Cats")] * 2)
    LLMCreator(model).decide_batch(views, np.random.default_rng(0))
    fast_a, fast_b = model.calls[2].last_user_text, model.calls[3].last_user_text
    assert "cat nap" in fast_a and "secret dog trick" not in fast_a
    assert "secret dog trick" in fast_b and "cat nap" not in fast_b
    assert retrieve_own_examples(views[0], ("Animals", "Cats"), k=1) == [0]
    assert retrieve_own_examples(views[0], ("Food",), k=2) == [1, 0]
    assert retrieve_own_examples(memory_with(3, []).view(0), ("Food",), k=2) == []


def test_every_exchange_is_logged_with_its_prompt_hash(views, tmp_path: Path):
    model = ScriptedChatModel(["bad", slow("EXPLORE", "Music"), item("Song", "Music/Singing")])
    log_path = tmp_path / "ex.jsonl"
    policy = LLMCreator(model, LLMCreatorConfig(log_path=str(log_path)))
    policy.decide(views[0], np.random.default_rng(0))
    lines = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()]
    assert [(r["stage"], r["seq"], r["reply"]) for r in lines] == [
        ("slow", 0, "bad"), ("slow", 1, slow("EXPLORE", "Music")), ("fast", 2, item("Song", "Music/Singing"))]
    assert policy.fallbacks == 0
    assert lines[1]["retry"] is True and lines[0]["creator"] == 1 and lines[0]["temperature"] == 0.0
    assert [r["prompt_sha256"] for r in lines] == [prompt_hash(c.messages) for c in model.calls]


def test_genre_resolver_maps_near_misses_and_rejects_unknowns():
    resolver = GenreResolver(TAXONOMY)
    sub = TAXONOMY.categories[TAXONOMY.top_index("Gaming")].subcategories[0].name
    assert resolver.resolve(f"gaming > {sub.lower()}") == ("Gaming", sub)
    assert resolver.resolve("Animals/Cats") == ("Animals", "Cats")
    assert resolver.resolve("Entertainmnt") == ("Entertainment",)
    with pytest.raises(ValueError, match="not in the taxonomy"):
        resolver.resolve("Quantum Knitting")
    with pytest.raises(ValueError, match="non-empty string"):
        resolver.resolve(7)


def test_llm_profiles_fill_personas_and_keep_originals_on_failure():
    profiles = [CreatorProfile(0, "c0", "", ("Food",)), CreatorProfile(1, "c1", "", ("Music",))]
    model = ScriptedChatModel([json.dumps({"name": "Wok Star", "persona": "Cooks fast noodles."}), "x", "y", "z"])
    out = llm_profiles(model, profiles)
    assert out[0].name == "Wok Star" and out[0].home_genres == ("Food",) and out[1] == profiles[1]


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="temperature"):
        LLMCreatorConfig(temperature=3.0)
    with pytest.raises(ValueError, match="recency_decay"):
        LLMCreatorConfig(recency_decay=0.0)


def test_a_sandbox_run_with_llm_creators_publishes_their_items(tmp_path: Path):
    from sandbox.config import SandboxConfig
    from sandbox.platform import Platform

    def answer(messages):
        prompt = messages[-1].text
        if "Decide now." in prompt:
            home = prompt.split("Home genres: ")[1].split("\n")[0].split(",")[0]
            return slow("EXPLOIT", home)
        plan = prompt.split("Plan: ")[1].split(" - ")[0].split(" ", 1)[1]
        return item(f"LLM video about {plan}", plan)

    policy = LLMCreator(ScriptedChatModel(answer), LLMCreatorConfig(log_path=str(tmp_path / "ex.jsonl")))
    config = SandboxConfig(seed=3, steps=3, users=40, creators=4, recommender="random", write_logs=False)
    platform = Platform(config, policies={"llm": policy})
    history = platform.run()
    titles = [t for t in platform.catalogue.titles if t.startswith("LLM video about")]
    assert titles and len(titles) == len(policy.decisions) and policy.fallbacks == 0
    assert all(h["explore_ratio"] == 0.0 for h in history if h["items_created"])
    assert len((tmp_path / "ex.jsonl").read_text(encoding="utf-8").splitlines()) == 2 * len(titles)


def test_module_doctests():
    assert doctest.testmod(llm_module).failed == 0



def test_short_run_with_the_embedded_chat_model(tmp_path: Path):
    from personas.models.embedded import load_embedded_chat

    try:
        model = load_embedded_chat(device="cpu")
    except ModelUnavailableError as err:
        pytest.skip(f"embedded chat model unavailable: {err}")
    memories = [memory_with(c, [("my first video", ("Animals", "Cats"), 10, 2)]) for c in (1, 2, 3)]
    policy = LLMCreator(model, LLMCreatorConfig(log_path=str(tmp_path / "ex.jsonl")))
    assert policy.style == "compact"  # chosen automatically for the embedded model
    drafts = policy.decide_batch([m.view(3) for m in memories], np.random.default_rng(3))
    for memory, draft in zip(memories, drafts):
        memory.remember_creation(1000 + memory.profile.creator_id, 3, GENRES.index(draft.category[0]), draft)
    assert all(len(m.creations) == 2 for m in memories)
    assert [r["stage"] for r in policy.log.records] == ["slow"] * 3 + ["fast"] * 3
    assert len((tmp_path / "ex.jsonl").read_text(encoding="utf-8").splitlines()) == 6
    # measured: 14 of 14 compact stages usable (6 creators x 2 steps); the JSON prompt fell back far more often
    assert policy.fallbacks < 3 and len(policy.decisions) == 3
