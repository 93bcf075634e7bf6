"""A fault-injected run on the virtual phone loses and duplicates no step (checked against the phone's own log)."""

from __future__ import annotations

import pytest

from audit.feeds import SandboxWorld, VirtualPhoneSource
from audit.runner import RunnerOptions, run_session
from recorder.categorise import KeywordCategoriser
from recorder.store import read_trace
from recorder.trace import TraceHeader
from tests.audit.conftest import START, make_policy
from tests.device.conftest import rig_factory  # noqa: F401 -- the virtual-phone fixture


def test_follow_and_not_interested_are_confirmed_on_the_phone(rig_factory):  # noqa: F811
    for app in ("douyin", "bilibili"):  # long-press menu, share sheet
        rig = rig_factory(app, serial=f"phone-{app}")
        feed = rig.phone_feed()
        first = feed.current()
        assert feed.follow() is True and ("follow", 0) in rig.phone.log
        assert feed.follow() is True  # already followed: no second tap
        assert sum(1 for e in rig.phone.log if e[0] == "follow") == 1
        assert feed.not_interested() is True and ("not_interested", 0) in rig.phone.log
        after = feed.next()  # the app already moved on: no extra swipe
        assert after.meta.author != first.meta.author
        assert [e[1] for e in rig.phone.shown] == ["v0", "v1"]
        assert (0, "not_interested", None) in rig.feed.events and (0, "follow", None) in rig.feed.events


@pytest.mark.slow
def test_200_faulty_steps_match_what_the_phone_showed(tmp_path):
    source = VirtualPhoneSource(SandboxWorld(seed=4, users=60, creators=12, warmup_steps=2), "douyin",
                                time_scale=2000.0, faults=("popup", "ad", "live", "crash", "disconnect"),
                                fault_rate=0.12, swipe_s=0.03)
    try:
        feed = source.open(0, "persona")
        phone = source.phones[(0, "persona")]
        header = TraceHeader("virtual-faults", "agent", "virtual", START, persona_id="p1")
        keyword = KeywordCategoriser.shipped()
        stats = run_session(feed, make_policy(), _persona(), 200, tmp_path / "t", header=header,
                            options=RunnerOptions(skip_s=0.5, reconnect_wait_s=0.2),
                            categorise=lambda obs: keyword.categorise(obs.meta, obs.transcript))
    finally:
        source.close()
    trace = read_trace(tmp_path / "t")
    assert len(trace) == 200 and len(phone.shown) == 200
    for step, (kind, _, author, caption) in zip(trace.steps, phone.shown, strict=True):
        shown_kind = "ad" if step.meta.is_ad else "live" if step.meta.is_live else "video"
        assert shown_kind == kind
        if kind == "video":
            assert (step.meta.author, step.meta.caption) == (author, caption)
    inc = stats.incidents
    faults = [e[1] for e in phone.log if e[0] == "fault"]
    assert inc.ads == faults.count("ad") and inc.lives == faults.count("live")
    assert inc.popups >= 1 and inc.crashes >= 1 and inc.reconnects >= 1
    ids = [video_id for kind, video_id, _, _ in phone.shown if kind == "video"]
    assert len(set(ids)) == len(ids) == 200 - inc.ads - inc.lives  # each video once, in the trace's order


def _persona():
    from personas.policy import SimplePersona

    return SimplePersona("p1")
