"""Policy test fixtures: synthetic traces with key frames on disk, one torch thread."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest

from recorder.store import TraceWriter, read_trace
from recorder.trace import Action, Category, Trace
from tests.builders import T0, make_header, make_step

TOPS = ("Food", "Gaming", "Knowledge")


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def write_image_traces(root: Path, sessions: int = 2, views: int = 20, persona: str = "P07") -> list[Path]:
    """`sessions` trace folders of `views` steps each, one coloured frame per step, a 0 s entry in each."""
    folders = []
    for s in range(sessions):
        folder = root / persona / f"s{s}"
        header = make_header(f"{persona}-s{s}", persona_id=persona, collector=persona)
        with TraceWriter.create(folder, header) as writer:
            for i in range(views):
                top = TOPS[i % 3]
                frame = writer.add_file(_jpeg(((80 * i) % 256, 40 * (i % 3), 200)), "frame", f"{i:06d}.jpg")
                watch = 0.0 if i == 7 else {"Food": 25.0, "Gaming": 2.0, "Knowledge": 9.0}[top] + (i % 4)
                actions = (Action("like"),) if top == "Food" and i % 2 == 0 else ()
                writer.append(make_step(i, watch, appeared_at=T0 + timedelta(minutes=30 * s, seconds=30 * i),
                                        category=Category((top,)), frames=(frame,), actions=actions))
        folders.append(folder)
    return folders


@pytest.fixture
def image_traces(tmp_path: Path) -> tuple[list[Trace], list[Path]]:
    """Two sessions of 20 views with frames (persona P07), read back from disk."""
    folders = write_image_traces(tmp_path / "traces")
    return [read_trace(f) for f in folders], folders
