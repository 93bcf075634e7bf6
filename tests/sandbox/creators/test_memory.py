"""Creator memory: information asymmetry, exit rule, forgetting, and the baseline policies."""

import numpy as np
import pytest

from recorder.taxonomy import load_taxonomy
from sandbox.catalogue import ItemDraft
from sandbox.config import SandboxConfig
from sandbox.creators.base import CreatorProfile, CreatorView
from sandbox.creators.baselines import BestResponseCreator, FullInformationCreator, RandomCreator
from sandbox.creators.memory import CreatorMemory, MemoryConfig
from sandbox.platform import Platform

GENRES = load_taxonomy().top_level


def memory(**cfg) -> CreatorMemory:
    mem = CreatorMemory(CreatorProfile(0, "c0", home_genres=("Gaming",)), GENRES, MemoryConfig(**cfg))
    for item, genre in enumerate((3, 3, 6)):
        mem.remember_creation(item, 0, genre, ItemDraft((GENRES[genre],), f"t{item}"))
    return mem


def test_audience_belief_moves_only_with_own_feedback():
    mem = memory()
    before = mem.audience_belief(1)
    mem.observe_feedback(np.array([99, 100]), np.array([50, 50]), np.array([40, 40]), np.zeros(2), np.zeros(2))
    assert np.array_equal(before, mem.audience_belief(1))  # other creators' items: ignored
    mem.observe_feedback(np.array([0]), np.array([10]), np.array([5]), np.zeros(1), np.zeros(1))
    after = mem.audience_belief(1)
    assert after[3] > before[3] and np.array_equal(np.delete(after, 3), np.delete(before, 3))


def test_beliefs_in_a_world_ignore_other_creators_feedback():
    """Perturb every other creator's feedback in a running world: creator 0's beliefs do not change."""
    a = Platform(SandboxConfig(users=200, creators=10, steps=4, recommender="random", seed=1))
    a.run()
    b = Platform(SandboxConfig(users=200, creators=10, steps=4, recommender="random", seed=1))
    b.run()
    for creator in b.creators[1:]:
        creator.memory._stats[1] += 7.0
    assert np.array_equal(a.creators[0].memory.audience_belief(4), b.creators[0].memory.audience_belief(4))
    assert not np.array_equal(a.creators[1].memory.audience_belief(4), b.creators[1].memory.audience_belief(4))


def test_exit_after_window_of_unclicked_items():
    mem = memory(exit_window=2)
    assert not mem.should_exit(0)  # nothing judged yet: items made at step 0 had no feedback round
    assert mem.should_exit(1)
    mem.observe_feedback(np.array([2]), np.array([3]), np.array([1]), np.zeros(1), np.zeros(1))
    assert not mem.should_exit(1)
    mem.exit(1)
    assert not mem.active and mem.activity_probability(2) == 0.0


def test_memory_forgets_oldest_items():
    mem = memory(capacity=3, exit_window=2)
    mem.remember_creation(3, 1, 0, ItemDraft(("Entertainment",), "new"))
    assert [c.item_id for c in mem.creations] == [1, 2, 3]


def test_view_is_read_only_and_validated():
    view = memory().view(1)
    with pytest.raises(ValueError):
        view.clicks[0] = 3
    with pytest.raises(ValueError, match="one value per genre"):
        CreatorView(0, view.profile, view.genres, (), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0),
                    np.zeros(2), view.audience_belief)


def test_baselines_produce_valid_drafts():
    rng = np.random.default_rng(0)
    view = memory().view(1)
    assert RandomCreator().decide(view, rng).category[0] in GENRES
    with pytest.raises(ValueError, match="platform_interest"):
        FullInformationCreator().decide(view, rng)
    interest = np.zeros(len(GENRES))
    interest[5] = 1.0
    full = FullInformationCreator().decide(memory().view(1, interest), rng)
    assert full.category[0] == GENRES[5]
    best = BestResponseCreator(epsilon=0.0).decide(view, rng)
    assert best.explore is False
