"""Behaviour analyser: hand-computed figures, shape rule, errors, JSON, and the shared public traces."""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from personas.analysis import (
    BehaviourFeatures,
    EmpiricalDistribution,
    NotEnoughDataError,
    WatchStats,
    analyse,
    load_traces,
)
from recorder.importers.personaact_raw import find_session_files, import_sessions
from recorder.trace import Action, Category, Trace, VideoMeta
from tests.builders import T0, make_header, make_step

CST = timezone(timedelta(hours=8))


def _step(index, watch, top, author, like_count, gap_h=0, **changes):
    meta = VideoMeta(video_id=f"v{index}", author=author, caption=f"caption {index}", like_count=like_count,
                     duration_s=changes.pop("duration_s", 60.0))
    return make_step(index, watch, meta=meta, category=Category((top,), "model"),
                     appeared_at=T0 + timedelta(hours=gap_h, seconds=10 * (index % 3)), **changes)


def hand_trace() -> Trace:
    """Six videos in two sessions two hours apart; figures below are worked out by hand."""
    steps = (
        _step(0, 1.0, "Food", "A", 10),
        _step(1, 40.0, "Knowledge", "B", 1000, actions=(Action("like"),), frames=("frames/000001.jpg",)),
        _step(2, 2.0, "Food", "A", 100),
        _step(3, 12.0, "Knowledge", "C", 5000, gap_h=2, actions=(Action("like"),)),
        _step(4, 6.0, "Games", "A", 50, gap_h=2, duration_s=5.0, actions=(Action("comment", text="nice"),)),
        _step(5, 30.0, "Knowledge", "B", 20000, gap_h=2),
    )
    return Trace(make_header("hand", started_at=T0.astimezone(CST)), steps)


@pytest.fixture
def features() -> BehaviourFeatures:
    return analyse([hand_trace()], [Path("/data/hand")])


def test_rates_and_categories(features):
    assert features.n_traces == 1 and features.n_videos == 6
    assert features.category_distribution == pytest.approx({"Knowledge": 0.5, "Food": 2 / 6, "Games": 1 / 6})
    assert list(features.category_distribution) == ["Knowledge", "Food", "Games"]
    assert features.liked_categories == {"Knowledge": 2}
    assert features.category_median_watch_s == {"Knowledge": 30.0, "Food": 1.5, "Games": 6.0}
    assert (features.like_rate, features.comment_rate, features.share_rate) == pytest.approx((2 / 6, 1 / 6, 0.0))
    assert features.quick_skip_rate == pytest.approx(2 / 6)
    assert features.long_watch_rate == pytest.approx(3 / 6)  # 40 s, 30 s, and 6 s of a 5 s video


def test_watch_statistics(features):
    watch = features.watch
    assert watch.distribution == (1.0, 2.0, 6.0, 12.0, 30.0, 40.0)
    assert watch.mean == pytest.approx(91 / 6) and watch.median == 9.0
    assert watch.quantiles["q25"] == pytest.approx(3.0) and watch.quantiles["q75"] == pytest.approx(25.5)
    assert set(watch.quantiles) == {"q05", "q10", "q25", "q50", "q75", "q90", "q95"}
    assert watch.shape == "dispersed"  # 6 videos: too few for bimodal; QCD = 22.5 / 28.5 > 0.5


def test_creators_time_and_popularity(features):
    creators = features.creators
    assert [(a.author, a.videos, a.watch_s, a.likes) for a in creators.top_authors] == [
        ("B", 2, 70.0, 1), ("C", 1, 12.0, 1), ("A", 3, 9.0, 0)]
    assert creators.repeat_creator_share == pytest.approx(5 / 6) and creators.known_author_share == 1.0
    temporal = features.temporal
    assert temporal.hour_histogram[11] == 3 and temporal.hour_histogram[13] == 3 and sum(temporal.hour_histogram) == 6
    assert temporal.videos_per_session == (3, 3)
    assert temporal.session_minutes == pytest.approx((22 / 60, 50 / 60))
    bins = {b.label: b for b in features.popularity}
    assert (bins["niche"].videos, bins["niche"].mean_watch_s, bins["niche"].like_rate) == (2, 3.5, 0.0)
    assert (bins["middle"].mean_watch_s, bins["middle"].like_rate) == (21.0, 0.5)
    assert bins["popular"].lower == pytest.approx(1000 + 4000 / 3)


def test_examples(features):
    ex = features.examples
    assert [e.step_index for e in ex.longest_watched] == [1, 5, 3]
    assert [e.step_index for e in ex.quick_skipped] == [0, 2]
    assert [e.step_index for e in ex.liked] == [1, 3] and all(e.liked for e in ex.liked)
    assert [(e.category, e.step_index) for e in ex.category_spread] == [("Knowledge", 1), ("Food", 2), ("Games", 4)]
    first = ex.longest_watched[0]
    assert first.frame == "/data/hand/frames/000001.jpg" and first.caption == "caption 1" and first.trace_id == "hand"


def test_json_round_trip_and_summary(features):
    again = BehaviourFeatures.from_dict(json.loads(json.dumps(features.to_dict())))
    assert again == features
    text = features.summary()
    assert "6 videos" in text and "Knowledge 50%" in text and "median 9.0 s" in text and "busiest hour 11:00" in text
    with pytest.raises(ValueError, match="re-run the analysis"):
        BehaviourFeatures.from_dict({"n_traces": 1})


def test_too_few_videos_says_how_many_are_needed():
    trace = Trace(make_header("tiny"), (make_step(0), make_step(1)))
    with pytest.raises(NotEnoughDataError, match="at least 5 videos; got 2 from 1 trace"):
        analyse([trace])
    with pytest.raises(NotEnoughDataError, match="got 0"):
        analyse([])
    with pytest.raises(ValueError, match="one folder per trace"):
        analyse([hand_trace()], [])


@pytest.mark.parametrize("durations, shape", [
    ([10, 11, 12, 10, 11, 12, 10, 11], "concentrated"),
    ([0.5] * 10 + [60.0] * 10, "bimodal"),
    ([float(np.exp(2.5 + NormalDist().inv_cdf((i + 0.5) / 40))) for i in range(40)], "dispersed"),
])
def test_shape_rule(durations, shape):
    assert WatchStats.from_durations(durations).shape == shape


def test_empirical_distribution_inverts():
    dist = EmpiricalDistribution.from_samples([3.0, 1.0, 1.0, 10.0, 5.0])
    assert dist.values == (1.0, 3.0, 5.0, 10.0) and dist.levels[0] == 0.0 and dist.levels[-1] == 1.0
    assert dist.levels[1] == pytest.approx(0.5)  # 3.0 is the 3rd of 5: (3 - 0.5) / 5
    for value in (1.0, 2.0, 4.2, 10.0):
        assert dist.quantile(dist.cdf(value)) == pytest.approx(value)
    with pytest.raises(ValueError, match="quantile level"):
        dist.quantile(1.5)


def test_public_traces(public_data, tmp_path):
    import_sessions(find_session_files([public_data]), tmp_path)
    traces, folders = load_traces([tmp_path])
    everyone = analyse(traces, folders)
    assert everyone.n_traces == 59 and everyone.n_videos == 2767
    assert everyone.like_rate == pytest.approx(217 / 2767)  # 44 + 93 + 1 + 79 likes, as the importer counts
    assert everyone.temporal.n_sessions >= 57 and sum(everyone.temporal.videos_per_session) == 2767
    by_collector = {c: analyse([t for t in traces if t.header.collector == c]) for c in ("c", "P01", "P05")}
    assert by_collector["P01"].like_rate == pytest.approx(93 / 386)
    assert by_collector["c"].watch.median > 3 * by_collector["P05"].watch.median  # c watches far longer
    assert by_collector["P05"].quick_skip_rate > 0.5 and by_collector["P05"].watch.shape == "bimodal"
    assert everyone.category_distribution == {"unknown": 1.0}  # the public data carries no categories
    assert everyone.popularity == ()  # ... nor like counts
    print(everyone.summary())
