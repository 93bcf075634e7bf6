"""The audit runner: one loop, per-step checkpoints, a resumed run equals an uninterrupted one, faults counted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from audit.runner import RunnerError, RunnerOptions, SessionRunner, run_session
from device.base import DeviceDisconnected
from personas.policy import Decision
from recorder.feed import Observation, VirtualClock
from recorder.store import STEPS_FILE, read_trace
from recorder.trace import Category, VideoMeta
from sandbox.config import SandboxConfig
from sandbox.feed import SandboxFeed
from sandbox.platform import Platform
from tests.audit.conftest import START, header, make_policy


def fresh_feed(seed: int = 3) -> SandboxFeed:
    platform = Platform(SandboxConfig(users=60, creators=12, steps=2, recommender="pop+inertia", seed=seed))
    platform.run()
    return SandboxFeed(platform, "audit", clock=VirtualClock(START))


class Crash(Exception):
    """Stands in for a kill in the middle of a step."""


class CrashingPolicy:
    """Delegates to a policy, then dies when asked for step `at`."""

    def __init__(self, inner, at: int):
        self.inner, self.at, self.calls = inner, at, 0

    def reseed(self, seed: int) -> None:
        self.inner.reseed(seed)

    def act(self, persona, observation, history):
        if len(history) == self.at:
            raise Crash()
        return self.inner.act(persona, observation, history)


def test_run_writes_every_step_with_platform_categories(tmp_path, persona):
    stats = run_session(fresh_feed(), make_policy(), persona, 30, tmp_path / "a", header=header(), seed=5)
    trace = read_trace(tmp_path / "a")
    assert stats.steps == len(trace) == 30 and trace.header.ended_at is not None
    assert all(s.category and s.category.source == "platform" for s in trace.steps)
    assert len({s.meta.video_id for s in trace.steps}) == 30
    # virtual clock: the dwell is exactly the decided watch time and the next video appears after it
    for a, b in zip(trace.steps, trace.steps[1:], strict=False):
        assert (b.appeared_at - a.appeared_at) == timedelta(seconds=a.watch_s)
    assert len(stats.timings) == 30 and all(abs(t.dwell_error_s) < 1e-6 for t in stats.timings)


def test_resume_after_a_kill_equals_an_uninterrupted_run(tmp_path, persona):
    run_session(fresh_feed(), make_policy(), persona, 40, tmp_path / "whole", header=header(), seed=9)
    with pytest.raises(Crash):
        run_session(fresh_feed(), CrashingPolicy(make_policy(), at=17), persona, 40, tmp_path / "cut",
                    header=header(), seed=9)
    assert len(read_trace(tmp_path / "cut")) == 17
    stats = run_session(fresh_feed(), make_policy(), persona, 40, tmp_path / "cut", header=header(), seed=9,
                        resume=True, options=RunnerOptions(resume_mode="replay"))
    assert stats.replayed == 17 and stats.steps == 40
    whole = (tmp_path / "whole" / STEPS_FILE).read_text()
    assert (tmp_path / "cut" / STEPS_FILE).read_text() == whole


def test_replay_on_another_world_is_refused(tmp_path, persona):
    with pytest.raises(Crash):
        run_session(fresh_feed(), CrashingPolicy(make_policy(), at=5), persona, 10, tmp_path / "t", header=header())
    with pytest.raises(RunnerError, match="same seed"):
        run_session(fresh_feed(seed=4), make_policy(), persona, 10, tmp_path / "t", header=header(), resume=True,
                    options=RunnerOptions(resume_mode="replay"))


def test_existing_trace_needs_resume(tmp_path, persona):
    run_session(fresh_feed(), make_policy(), persona, 3, tmp_path / "t", header=header())
    with pytest.raises(RunnerError, match="--resume"):
        run_session(fresh_feed(), make_policy(), persona, 3, tmp_path / "t", header=header())


class ScriptedFeed:
    """A feed whose screens and disconnects follow a script: for testing the runner's fault handling."""

    def __init__(self, screens, disconnect_on_next=(), swipe_lands=True):
        self.clock = VirtualClock(START)
        self.screens, self.pos = list(screens), 0
        self.disconnect_on_next, self.swipe_lands = set(disconnect_on_next), swipe_lands
        self.incidents: list[tuple[int, str, str]] = []
        self.nexts, self.likes, self.reconnects = 0, [], 0

    def current(self):
        kind = self.screens[self.pos]
        meta = VideoMeta(video_id=f"v{self.pos}", author=f"a{self.pos}", is_ad=kind == "ad", is_live=kind == "live")
        return Observation(self.pos, self.clock.now(), meta, Category(("Music",)), screen=kind)

    def watch(self, seconds):
        self.clock.sleep(seconds)

    def like(self):
        self.likes.append(self.pos)
        return True

    def comment(self, text):
        return True

    def share(self):
        return False  # the feed could not confirm it

    def follow(self):
        return True

    def not_interested(self):
        return True

    def next(self):
        self.nexts += 1
        if self.pos in self.disconnect_on_next:
            self.disconnect_on_next.discard(self.pos)
            if self.swipe_lands:
                self.pos += 1  # the swipe reached the phone, then the line dropped
            raise DeviceDisconnected("usb gone")
        self.pos += 1
        return self.current()

    def reconnect(self):
        self.reconnects += 1  # the runner counts the incident, not the feed

    def close(self):
        pass


class LikeAndShare:
    def act(self, persona, observation, history):
        return Decision(3.0, like=True, share=True)


@pytest.mark.parametrize("lands", [True, False])
def test_disconnect_reobserves_before_swiping_again(tmp_path, persona, lands):
    feed = ScriptedFeed(["video"] * 8, disconnect_on_next={2}, swipe_lands=lands)
    stats = run_session(feed, LikeAndShare(), persona, 6, tmp_path / "t", header=header())
    trace = read_trace(tmp_path / "t")
    assert [s.meta.video_id for s in trace.steps] == [f"v{i}" for i in range(6)]  # none skipped, none twice
    assert stats.incidents.reconnects == feed.reconnects == 1
    assert feed.nexts == 5 + (0 if lands else 1)
    assert stats.incidents.action_failures == 6  # every share unconfirmed, and not recorded
    assert all(s.did("like") and not s.did("share") for s in trace.steps)


def test_ads_and_lives_are_skipped_and_labelled(tmp_path, persona):
    feed = ScriptedFeed(["video", "ad", "video", "live", "video"])
    stats = run_session(feed, LikeAndShare(), persona, 5, tmp_path / "t", header=header(),
                        options=RunnerOptions(skip_s=0.5))
    trace = read_trace(tmp_path / "t")
    assert [s.watch_s for s in trace.steps] == [3.0, 0.5, 3.0, 0.5, 3.0]
    assert trace.steps[1].meta.is_ad and trace.steps[3].meta.is_live and not trace.steps[1].actions
    assert feed.likes == [0, 2, 4] and stats.incidents.ads == 1 and stats.incidents.lives == 1
    assert trace.steps[1].extra["incidents"]["ads"] == 1


def test_login_wall_pauses_then_carries_on(tmp_path, persona):
    feed = ScriptedFeed(["video", "login_wall", "video", "video"])
    messages = []

    def pause(message):
        messages.append(message)
        feed.screens[1] = "video"  # the person logs in

    runner = SessionRunner(feed, LikeAndShare(), persona, tmp_path / "t", header=header(), steps=3,
                           options=RunnerOptions(login_poll_s=0.0), pause=pause)
    stats = runner.run()
    assert stats.steps == 3 and stats.incidents.login_walls == 1 and "login" in messages[0]
