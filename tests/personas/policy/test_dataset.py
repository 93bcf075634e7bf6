"""Session-temporal split and the Arrow dataset with images."""

from __future__ import annotations

import pytest

from personas.policy.dataset import (
    DatasetBuildError,
    DatasetConfig,
    SplitConfig,
    build_dataset,
    load_policy_dataset,
    session_splits,
    split_sizes,
)
from personas.policy.grammar import PROMPT_VERSION, parse_reply
from recorder.trace import Trace
from tests.builders import make_header, make_step


def test_split_rounds_down_and_short_sessions_only_train():
    assert split_sizes(25) == (21, 2, 2)
    assert split_sizes(9) == (9, 0, 0)  # 10% of 9 rounds to 0: no test step, no validation step
    assert split_sizes(19) == (17, 1, 1)
    assert split_sizes(20, SplitConfig(0.0, 0.25)) == (15, 0, 5)
    with pytest.raises(DatasetBuildError, match="validation_share"):
        SplitConfig(0.5, 0.6)


def test_zero_duration_entries_are_dropped_before_the_split():
    steps = [make_step(i, 0.0 if i % 5 == 0 else 3.0) for i in range(24)]  # 5 zero entries, 19 views
    (split,) = session_splits([Trace(make_header(), tuple(steps))])
    assert split.dropped_zero == 5 and (len(split.train), len(split.validation), len(split.test)) == (17, 1, 1)
    assert all(s.watch_s > 0 for s in split.train + split.validation + split.test)
    assert [s.index for s in split.test] == [23] and split.before("test")[-1].index == 22


def test_build_dataset_writes_arrow_with_images(image_traces, tmp_path):
    traces, folders = image_traces
    out = tmp_path / "ds"
    manifest = build_dataset(traces, folders, out, cards={"P07": "I love food videos."},
                             config=DatasetConfig(frames=1, max_pixels=32 * 32))
    assert manifest["sizes"] == {"train": 34, "validation": 2, "test": 2}  # 19 views per session: 17/1/1
    assert manifest["dropped_zero_duration"] == 2 and manifest["prompt_version"] == PROMPT_VERSION
    data = load_policy_dataset(out)
    row = data["train"][3]
    assert len(row["images"]) == 1 and row["images"][0].size[0] * row["images"][0].size[1] <= 32 * 32
    assert "I love food videos." in row["prompt"][1]["content"][-1]["text"]
    assert row["prompt"][1]["content"][0]["type"] == "image"
    target = parse_reply(row["completion"][0]["content"][0]["text"])
    assert target.mode == "strict" and target.decision.watch_s == pytest.approx(row["watch_s"])
    assert target.decision.like == row["like"]
    test_row = data["test"][0]
    assert "watched" in test_row["prompt"][1]["content"][-1]["text"]  # history from earlier in the session
    with pytest.raises(DatasetBuildError, match="not empty"):
        build_dataset(traces, folders, out)
