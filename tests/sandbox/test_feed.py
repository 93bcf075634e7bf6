"""SandboxFeed: the Feed protocol, a Trace round trip, and personalisation of the outside account per batch."""

import copy

import numpy as np
import pytest

from audit.runner import run_session
from personas.policy import Decision, Policy, SimplePersona
from recorder.feed import Feed, VirtualClock
from recorder.store import read_trace
from recorder.trace import TraceHeader
from sandbox.config import SandboxConfig
from sandbox.feed import SandboxFeed, genre_viewer
from sandbox.platform import Platform
from sandbox.profiles import KnobError
from sandbox.traces import START


@pytest.fixture(scope="module")
def world() -> Platform:
    platform = Platform(SandboxConfig(users=150, creators=40, steps=4, recommender="mf", seed=2, write_logs=False))
    platform.run()
    return platform


def test_feed_round_trip_as_trace(world, tmp_path):
    platform = copy.deepcopy(world)
    feed = platform.open_account("audit-1")
    assert isinstance(feed, Feed) and isinstance(feed, SandboxFeed)
    obs = feed.current()
    assert obs.frame.shape == (640, 360, 3) and obs.category.source == "platform" and obs.transcript
    before = len(platform.log)
    viewer = genre_viewer({obs.category.top}, seed=0)
    assert isinstance(viewer, Policy) and isinstance(viewer.act(None, obs, []), Decision)
    feed.clock = VirtualClock(START)
    header = TraceHeader("sbx-1", "agent", "sandbox", START, persona_id="audit-1")
    run_session(feed, viewer, SimplePersona("audit-1"), 25, tmp_path / "t", header=header, seed=0)
    trace = read_trace(tmp_path / "t")
    assert len(trace) == 25 and feed.knobs.inertia == 0.8
    assert len(platform.log) == before + 25
    assert len({s.meta.video_id for s in trace.steps}) == 25  # never shown twice
    assert all(s.category.source == "platform" for s in trace.steps)


def _engage(feed: SandboxFeed, top: str, batches: int, action: str = "like") -> None:
    """Watch whole videos of `top` and do `action` on them; skip everything else quickly."""
    for _ in range(batches * feed.batch_size):
        obs = feed.current()
        if obs.category.top == top:
            feed.watch(obs.meta.duration_s)
            getattr(feed, action)()
        else:
            feed.watch(0.5)
        feed.next()


def _share(feed: SandboxFeed, top: str, videos: int) -> float:
    tops = []
    for _ in range(videos):
        tops.append(feed.current().category.top)
        feed.watch(0.5)
        feed.next()
    return tops.count(top) / videos


def _favourite(platform: Platform) -> str:
    pool = platform.catalogue.recent(platform.step, platform.config.candidate_window)
    return platform.genres[int(np.bincount(platform.catalogue.genre[pool]).argmax())]


@pytest.fixture(scope="module")
def worlds() -> list[Platform]:
    out = []
    for seed in (2, 3, 4):
        platform = Platform(SandboxConfig(users=150, creators=40, steps=4, seed=seed, write_logs=False))
        platform.run()
        out.append(platform)
    return out


def _mean_share(worlds: list[Platform], then: str | None, batches: int = 2, **knobs) -> float:
    """Engage with each world's most supplied genre for `batches` batches, then do `then` to it for one batch
    (None: keep skipping everything), and return the genre's share of the next 30 videos, averaged over worlds."""
    shares = []
    for world in worlds:
        top = _favourite(world)
        feed = copy.deepcopy(world).open_account("a", advance_every=5, exploration=0.0, **knobs)
        _engage(feed, top, batches)
        _engage(feed, top if then else "none", 1, then or "like")
        shares.append(_share(feed, top, 30))
    return float(np.mean(shares))


def test_engagement_changes_the_next_batches(worlds):
    engaged = _mean_share(worlds, "like", batches=1, inertia=0.3)
    skipped = _mean_share(worlds, None, batches=0, inertia=0.3)
    assert engaged > skipped + 0.15


def test_personalisation_zero_serves_at_random(worlds):
    shares, bases = [], []
    for world in worlds:
        top = _favourite(world)
        feed = copy.deepcopy(world).open_account("a", personalisation=0.0)
        _engage(feed, top, 3)
        shares.append(_share(feed, top, 40))
        pool = world.catalogue.recent(world.step, world.config.candidate_window)
        bases.append(float(np.mean(world.genres.index(top) == world.catalogue.genre[pool])))
    assert abs(np.mean(shares) - np.mean(bases)) < 0.1


def test_not_interested_is_a_strong_negative_signal(worlds):
    skipped = _mean_share(worlds, None, batches=3, inertia=0.5)
    rejected = _mean_share(worlds, "not_interested", batches=3, inertia=0.5)
    assert rejected < skipped - 0.05


def test_follow_boosts_the_creator(world):
    platform = copy.deepcopy(world)
    feed = platform.open_account("a")
    obs = feed.current()
    assert feed.follow() and feed.not_interested() is True
    feed.next()
    assert platform.profiles.follows[feed.user] == {int(obs.meta.author.removeprefix("creator"))}


def test_knobs_are_validated_by_name(world):
    platform = copy.deepcopy(world)
    with pytest.raises(KnobError, match="personalisation"):
        platform.open_account("x", personalisation=1.5)
    with pytest.raises(KnobError, match="novelty"):
        platform.open_account("y", novelty=0.5)
    assert platform.open_account("z", inertia=0.2).knobs.inertia == 0.2
    with pytest.raises(KnobError, match="exploration"):
        SandboxConfig(exploration=-0.1)
