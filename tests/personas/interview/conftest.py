"""Fixtures for interview tests: a small recorded trace with frames, and the scripted chat model."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from personas.analysis import analyse
from personas.models import ScriptedChatModel
from recorder.store import TraceWriter, read_trace
from recorder.trace import Action, Category, VideoMeta
from tests.builders import make_header, make_step
from tests.personas.interview.scripted import responder

# (watch seconds, category, caption, author, liked)
VIDEOS = [
    (41.0, "Food", "Grandma's dumpling fold", "chef_li", True), (0.8, "Finance", "Stock tips you must know", "money_guy", False),
    (12.0, "Pets", "Cat meets cucumber", "catlady", False), (1.2, "News", "Evening headlines", "daily_news", False),
    (35.0, "Food", "Street noodles in Xi'an", "chef_li", True), (6.0, "Games", "Speedrun world record", "gamer_x", False),
    (2.0, "Finance", "Crypto crash explained", "money_guy", False), (18.0, "Pets", "Puppy's first snow", "catlady", False),
    (50.0, "Food", "Ten-minute hotpot", "chef_li", False), (4.5, "Travel", "Hidden beach in Hainan", "wander", False),
]


def write_sample_trace(folder: Path, trace_id: str = "t-interview") -> Path:
    """A 10-video trace with one coloured key frame per video."""
    with TraceWriter.create(folder, make_header(trace_id)) as writer:
        for index, (watch, category, caption, author, liked) in enumerate(VIDEOS):
            image = np.full((96, 54, 3), (index * 25 % 255, 120, 255 - index * 20), dtype=np.uint8)
            frame = writer.add_file(cv2.imencode(".png", image)[1].tobytes(), "frame", f"{index:04d}.png")
            writer.append(make_step(index, watch, category=Category((category,), "platform"), frames=(frame,),
                                    meta=VideoMeta(video_id=f"v{index}", author=author, caption=caption,
                                                   like_count=100 * (index + 1)),
                                    actions=(Action("like"),) if liked else ()))
    return folder


@pytest.fixture
def trace_folder(tmp_path: Path) -> Path:
    return write_sample_trace(tmp_path / "trace")


@pytest.fixture
def features(trace_folder: Path):
    return analyse([read_trace(trace_folder)], [trace_folder])


@pytest.fixture
def scripted() -> ScriptedChatModel:
    return ScriptedChatModel(responder)
