"""Session-temporal split and the policy dataset (Hugging Face `datasets`, Arrow, with images).

Split (the paper's, per session, in time order): the last floor(n * test_share) views are test, the
floor(n * validation_share) before them validation, everything earlier training. Rounding down means training
keeps the remainder (25 views -> 21/2/2), and a session too short for one test view (n < 10 at 10%) has no
validation or test part: all of it trains. Zero-duration entries (0 s: the recorder saw no view, e.g. a skipped
ad or a UI glitch) are not views: they are dropped before the split, so they are neither targets nor history.

Dataset rows (one per view): `prompt` (conversational, image placeholders), `completion` (the human's reply in the
grammar), `images` (up to K key frames, pixels capped), and the true `watch_s`, `like`, `comment`, `share` columns
the GRPO rewards read, plus `persona_id`, `trace_id`, `step_index`, `prompt_version`. Splits: train, validation,
test. A `personaact_dataset.json` manifest beside the Arrow files records the settings and counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from personas.policy.base import Decision
from personas.policy.grammar import PROMPT_VERSION, VideoView, build_prompt, format_reply
from recorder.errors import PersonaActError
from recorder.trace import Step, Trace

PARTS = ("train", "validation", "test")
MANIFEST = "personaact_dataset.json"


class DatasetBuildError(ValueError, PersonaActError):
    """The dataset cannot be built as asked; the message names the option or file."""


@dataclass(frozen=True)
class SplitConfig:
    """Shares of the session-temporal split."""

    validation_share: float = 0.1
    test_share: float = 0.1

    def __post_init__(self) -> None:
        if not (0 <= self.validation_share < 1 and 0 < self.test_share < 1
                and self.validation_share + self.test_share < 1):
            raise DatasetBuildError(f"split: validation_share {self.validation_share} and test_share "
                                    f"{self.test_share} must be in [0, 1) and leave a training share")


def split_sizes(n: int, config: SplitConfig = SplitConfig()) -> tuple[int, int, int]:
    """(train, validation, test) view counts for a session of n views.

    >>> split_sizes(25), split_sizes(9), split_sizes(10), split_sizes(0)
    ((21, 2, 2), (9, 0, 0), (8, 1, 1), (0, 0, 0))
    """
    test = math.floor(n * config.test_share + 1e-9)
    validation = math.floor(n * config.validation_share + 1e-9) if test else 0
    return n - validation - test, validation, test


@dataclass(frozen=True)
class SessionSplit:
    """One session cut in time order (zero-duration entries already dropped)."""

    persona: str
    trace_id: str
    train: tuple[Step, ...]
    validation: tuple[Step, ...]
    test: tuple[Step, ...]
    dropped_zero: int = 0
    folder: Path | None = None

    def before(self, part: str) -> list[Step]:
        """The session's views before `part` starts (its true history)."""
        if part == "train":
            return []
        return list(self.train) + (list(self.validation) if part == "test" else [])


def session_splits(traces: Sequence[Trace], config: SplitConfig = SplitConfig(), group_by: str = "persona_id",
                   folders: Sequence[Path] | None = None) -> list[SessionSplit]:
    """Split every trace (one session each) in time order; `group_by` names the header field that is the persona."""
    if group_by not in ("persona_id", "collector"):
        raise DatasetBuildError(f"group_by: persona_id or collector, got {group_by!r}")
    out = []
    for i, trace in enumerate(traces):
        ordered = sorted(trace.steps, key=lambda s: (s.appeared_at, s.index))
        views = [s for s in ordered if s.watch_s > 0]
        n_train, n_val, _ = split_sizes(len(views), config)
        persona = getattr(trace.header, group_by) or trace.header.persona_id or trace.header.trace_id
        out.append(SessionSplit(persona, trace.header.trace_id, tuple(views[:n_train]),
                                tuple(views[n_train:n_train + n_val]), tuple(views[n_train + n_val:]),
                                len(ordered) - len(views), folders[i] if folders is not None else None))
    return out


def step_decision(step: Step) -> Decision:
    """The human's behaviour on a step as the decision the policy should have made."""
    text = next((a.text for a in step.actions if a.name == "comment" and a.text and a.text.strip()), None)
    return Decision(step.watch_s, like=step.did("like"), comment=step.did("comment"), share=step.did("share"),
                    comment_text=text, follow=step.did("follow"), not_interested=step.did("not_interested"))


@dataclass(frozen=True)
class DatasetConfig:
    """Options of `personaact train build-dataset` (loadable from YAML)."""

    history_len: int = 5  # previous videos shown in the prompt
    frames: int = 2  # key frames per current video (K)
    max_pixels: int = 200_704  # per frame (256 * 28 * 28: Qwen2.5-VL's patch grid); larger frames are downscaled
    validation_share: float = 0.1
    test_share: float = 0.1
    group_by: str = "persona_id"

    def __post_init__(self) -> None:
        for name in ("history_len", "frames"):
            if getattr(self, name) < 0:
                raise DatasetBuildError(f"{name}: must be >= 0, got {getattr(self, name)}")
        if self.max_pixels < 28 * 28:
            raise DatasetBuildError(f"max_pixels: must be >= 784 (one 28x28 patch), got {self.max_pixels}")
        SplitConfig(self.validation_share, self.test_share)

    @property
    def split(self) -> SplitConfig:
        """The split shares."""
        return SplitConfig(self.validation_share, self.test_share)


def load_frames(step: Step, folder: Path | None, count: int, max_pixels: int) -> list[Any]:
    """Up to `count` of the step's key frames as RGB PIL images, downscaled to at most `max_pixels`."""
    from PIL import Image

    images: list[Any] = []
    if folder is None:
        return images
    for rel in step.frames[:count]:
        path = folder / rel
        if not path.is_file():
            continue
        with Image.open(path) as raw:
            images.append(cap_pixels(raw.convert("RGB"), max_pixels))
    return images


def cap_pixels(image: Any, max_pixels: int) -> Any:
    """The image, scaled down (aspect kept) so width * height <= max_pixels."""
    width, height = image.size
    if width * height <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / (width * height))
    return image.resize((max(1, int(width * scale)), max(1, int(height * scale))))


def example_row(card: str, history: Sequence[Step], step: Step, images: Sequence[Any], persona: str, trace_id: str,
                history_len: int) -> dict[str, Any]:
    """One dataset row for deciding on `step` after `history`."""
    prompt = build_prompt(card, history, VideoView.of_step(step, len(images)), history_len)
    decision = step_decision(step)
    return {"prompt": prompt.trl_messages(),
            "completion": [{"role": "assistant", "content": [{"type": "text", "text": format_reply(decision)}]}],
            "images": list(images), "watch_s": float(step.watch_s), "like": decision.like,
            "comment": decision.comment, "share": decision.share, "persona_id": persona, "trace_id": trace_id,
            "step_index": step.index, "prompt_version": PROMPT_VERSION}


def build_rows(splits: Sequence[SessionSplit], cards: Mapping[str, str], config: DatasetConfig,
               progress: Callable[[], None] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Rows per part; each view's history is the session's true earlier views."""
    rows: dict[str, list[dict[str, Any]]] = {part: [] for part in PARTS}
    for split in splits:
        history: list[Step] = []
        for part in PARTS:
            for step in getattr(split, part):
                images = load_frames(step, split.folder, config.frames, config.max_pixels)
                rows[part].append(example_row(cards.get(split.persona, ""), history, step, images, split.persona,
                                              split.trace_id, config.history_len))
                history.append(step)
                if progress is not None:
                    progress()
    return rows


def behaviour_cards(splits: Sequence[SessionSplit]) -> dict[str, str]:
    """A persona card from behaviour alone (the training views' analysis) for personas without an interview card."""
    from personas.analysis import NotEnoughDataError, analyse
    from recorder.trace import TraceHeader

    cards = {}
    for persona in sorted({s.persona for s in splits}):
        traces = [Trace(TraceHeader(trace_id=f"{s.trace_id}-train", recorded_by="human", platform="unknown",
                                    started_at=s.train[0].appeared_at, persona_id=persona),
                        tuple(replace(step, index=i) for i, step in enumerate(s.train)))
                  for s in splits if s.persona == persona and s.train]
        try:
            cards[persona] = analyse(traces).summary()
        except NotEnoughDataError:
            cards[persona] = f"Persona {persona} (too few training views to describe)."
    return cards


def build_dataset(traces: Sequence[Trace], folders: Sequence[Path] | None, out: Path,
                  cards: Mapping[str, str] | None = None, config: DatasetConfig = DatasetConfig(),
                  overwrite: bool = False, progress: Callable[[], None] | None = None) -> dict[str, Any]:
    """Write the DatasetDict (train/validation/test) to `out` and return the manifest written beside it."""
    from datasets import Dataset, DatasetDict

    from recorder.files import write_json_atomic

    if out.exists() and any(out.iterdir()) and not overwrite:
        raise DatasetBuildError(f"{out}: folder is not empty; pick a new --out or pass --overwrite")
    splits = session_splits(traces, config.split, config.group_by, folders)
    if not any(s.train for s in splits):
        raise DatasetBuildError("traces: no non-zero views to train on; give recorded or imported traces")
    all_cards = {**behaviour_cards(splits), **(cards or {})}
    rows = build_rows(splits, all_cards, config, progress)
    features = dataset_features()
    DatasetDict({part: Dataset.from_list(rows[part], features=features) for part in PARTS}).save_to_disk(str(out))
    manifest = {"kind": "policy_dataset", "schema_version": 1, "prompt_version": PROMPT_VERSION,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "config": asdict(config),
                "sizes": {part: len(rows[part]) for part in PARTS},
                "dropped_zero_duration": sum(s.dropped_zero for s in splits),
                "sessions": len(splits), "sessions_without_test": sum(1 for s in splits if not s.test),
                "with_images": sum(1 for part in PARTS for r in rows[part] if r["images"]),
                "personas": sorted({s.persona for s in splits}),
                "interview_cards": sorted(cards or {})}
    write_json_atomic(out / MANIFEST, manifest)
    return manifest


def dataset_features() -> Any:
    """The Arrow schema of policy datasets (images as an Image list)."""
    from datasets import Features, Image, List, Value

    text_part = {"type": Value("string"), "text": Value("string")}
    message = {"role": Value("string"), "content": List(text_part)}
    return Features({"prompt": List(message), "completion": List(message), "images": List(Image()),
                     "watch_s": Value("float64"), "like": Value("bool"), "comment": Value("bool"),
                     "share": Value("bool"), "persona_id": Value("string"), "trace_id": Value("string"),
                     "step_index": Value("int64"), "prompt_version": Value("string")})


def load_policy_dataset(path: Path) -> Any:
    """Read a dataset written by `build_dataset` (a DatasetDict), with a clear error for anything else."""
    from datasets import load_from_disk

    if not (path / MANIFEST).is_file():
        raise DatasetBuildError(f"{path}: not a policy dataset (no {MANIFEST}); build one with "
                                "`personaact train build-dataset`")
    return load_from_disk(str(path))
