"""SandboxFeed: the Feed protocol, a Trace round trip, and personalisation of the outside account per batch."""

import copy

import numpy as np
import pytest

from personas.policy import Decision, Policy
from recorder.feed import Feed
from recorder.store import read_trace
from sandbox.config import SandboxConfig
from sandbox.feed import SandboxFeed, genre_viewer, record_session
from sandbox.platform import Platform
from sandbox.profiles import KnobError


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
    folder = record_session(feed, viewer, 25, tmp_path / "t", "sbx-1")
    trace = read_trace(folder)
    assert trace.header.recorded_by == "sandbox" and len(trace) == 25
    assert trace.header.extra["knobs"] == {"personalisation": 1.0, "exploration": 0.1, "inertia": 0.8}
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


def test_engagement_changes_the_next_batches(world):
    top = _favourite(world)
    engaged = copy.deepcopy(world).open_account("a", exploration=0.0)
    _engage(engaged, top, 3)
    skipped = copy.deepcopy(world).open_account("b", exploration=0.0)
    _engage(skipped, "no such category", 3)
    assert _share(engaged, top, 20) > _share(skipped, top, 20) + 0.1


def test_personalisation_zero_serves_at_random(world):
    top = _favourite(world)
    engaged = copy.deepcopy(world).open_account("a", personalisation=0.0)
    _engage(engaged, top, 3)
    random_share = _share(engaged, top, 40)
    pool = world.catalogue.recent(world.step, world.config.candidate_window)
    base = float(np.mean(world.genres.index(top) == world.catalogue.genre[pool]))
    assert abs(random_share - base) < 0.2


def test_not_interested_is_a_strong_negative_signal(world):
    top = _favourite(world)
    liked = copy.deepcopy(world).open_account("a", exploration=0.0, inertia=0.5)
    _engage(liked, top, 2)
    rejected = copy.deepcopy(liked.platform).open_account("b", exploration=0.0, inertia=0.5)
    _engage(rejected, top, 2)
    _engage(liked, "none", 1)  # only skips
    _engage(rejected, top, 1, "not_interested")
    assert _share(rejected, top, 20) < _share(liked, top, 20) - 0.15


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
