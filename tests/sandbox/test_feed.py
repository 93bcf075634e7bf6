"""SandboxFeed implements the Feed protocol, logs into the platform, and records a Trace round trip."""

import numpy as np

from recorder.feed import Feed
from recorder.store import read_trace
from sandbox.config import SandboxConfig
from sandbox.feed import SandboxFeed, genre_viewer, record_session
from sandbox.platform import Platform


def test_feed_round_trip_as_trace(tmp_path):
    platform = Platform(SandboxConfig(users=100, creators=20, steps=3, recommender="pop+inertia", seed=2))
    platform.run()
    feed = SandboxFeed(platform, "audit-1")
    assert isinstance(feed, Feed)
    obs = feed.current()
    assert obs.frame.shape == (640, 360, 3) and obs.category.source == "platform" and obs.transcript
    before = len(platform.log)
    favourite = obs.category.top
    folder = record_session(feed, genre_viewer({favourite}, np.random.default_rng(0)), 25, tmp_path / "t", "sbx-1")
    trace = read_trace(folder)
    assert trace.header.recorded_by == "sandbox" and len(trace) == 25
    assert len(platform.log) == before + 25
    assert len({s.meta.video_id for s in trace.steps}) == 25  # never shown twice
    assert (folder / trace.steps[0].frames[0]).is_file()
    tops = [s.category.top for s in trace.steps]
    pool = platform.catalogue.genre[platform.catalogue.recent(platform.step, 10)]
    share = np.mean(pool == platform.genres.index(favourite))
    assert tops.count(favourite) / len(tops) > 2 * share  # the inertia knob follows the account's clicks
