"""Split a capture into videos: a feed swipe confirmed by a frame change and a metadata-key change starts a new one.

Evidence is combined both ways, so neither jittery hierarchy dumps (a half-drawn caption, a dump of the old
video taken mid-scroll) nor a lost touch stream alone create or hide a video:
* an upward swipe starts a video when the screen changed right after it and the settled metadata key after it
  does not equal the one before (unknown keys, as in fast scrolling between two dumps, do not veto);
* a settled key change with no accepted swipe (a touch line lost) starts a video at the nearest frame change.
The start is the swipe's lift; watch duration = time to the next start.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from recorder.capture.gestures import Gesture
from recorder.capture.hierarchy import UiState
from recorder.trace import VideoMeta

TimedState = tuple[float, UiState | None]


@dataclass(frozen=True)
class SegmentConfig:
    """Thresholds for segmentation (seconds on the host clock; swipe length as a share of screen height)."""

    min_swipe_share: float = 0.15
    frame_window_s: float = 0.8  # a frame change within this long after the lift confirms the swipe
    settle_samples: int = 2  # a key must be seen this many times in a row to count when no swipe supports it

    def __post_init__(self) -> None:
        if not 0 < self.min_swipe_share < 1:
            raise ValueError(f"segment.min_swipe_share must lie in (0, 1), got {self.min_swipe_share}")
        if self.frame_window_s <= 0 or self.settle_samples < 1:
            raise ValueError("segment.frame_window_s must be > 0 and segment.settle_samples >= 1")


@dataclass(frozen=True)
class Segment:
    """One video on screen: host start/end, what the dumps said about it, and how the start was confirmed."""

    start_h: float
    end_h: float
    key: str | None
    meta: VideoMeta = field(default_factory=VideoMeta)
    kind: str = "video"
    evidence: tuple[str, ...] = ()  # "swipe", "frame", "key"; ("start",) for the first video

    @property
    def watch_s(self) -> float:
        """Seconds on screen."""
        return max(0.0, self.end_h - self.start_h)


def feed_swipes(gestures: Sequence[Gesture], height: int, config: SegmentConfig) -> list[Gesture]:
    """Upward swipes long enough to move a vertical feed."""
    return [g for g in gestures if g.kind == "swipe" and g.direction == "up"
            and (g.y - g.end_y) >= config.min_swipe_share * height]


def _settled(states: Sequence[TimedState], lo: float, hi: float) -> str | None:
    """The most frequent key among dumps in [lo, hi) (latest wins ties); None when no dump there shows a video."""
    keys = [s.key for h, s in states if lo <= h < hi and s is not None and s.key is not None]
    if not keys:
        return None
    counts = Counter(keys)
    best = max(counts.values())
    return next(k for k in reversed(keys) if counts[k] == best)


def _frame_change(changes: Sequence[float], lo: float, hi: float) -> bool:
    return any(lo <= t <= hi for t in changes)


def _accepted_swipes(states: Sequence[TimedState], swipes: Sequence[Gesture], changes: Sequence[float],
                     end_h: float, config: SegmentConfig) -> list[tuple[float, tuple[str, ...]]]:
    starts: list[tuple[float, tuple[str, ...]]] = []
    previous_lift = -1e18
    for i, swipe in enumerate(swipes):
        next_start = swipes[i + 1].start_s if i + 1 < len(swipes) else end_h
        if not _frame_change(changes, swipe.start_s, swipe.end_s + config.frame_window_s):
            continue
        before = _settled(states, max(previous_lift, swipe.start_s - 30.0), swipe.start_s)
        after = _settled(states, swipe.end_s, next_start)
        if before is not None and after is not None and before == after:
            continue  # the screen moved but the same video stayed (a bounce, a swipe inside a panel)
        starts.append((swipe.end_s, ("swipe", "frame") + (("key",) if after is not None else ())))
        previous_lift = swipe.end_s
    return starts


def _runs(states: Sequence[TimedState], lo: float, hi: float) -> list[tuple[str, float, float, int]]:
    """Consecutive dumps in [lo, hi) with the same key: (key, first time, last time, count)."""
    runs: list[tuple[str, float, float, int]] = []
    for h, state in states:
        if not lo <= h < hi or state is None or state.key is None:
            continue
        if runs and runs[-1][0] == state.key:
            key, first, _, count = runs[-1]
            runs[-1] = (key, first, h, count + 1)
        else:
            runs.append((state.key, h, h, 1))
    return runs


def _missed_starts(states: Sequence[TimedState], starts: list[float], changes: Sequence[float], end_h: float,
                   config: SegmentConfig) -> list[tuple[float, tuple[str, ...]]]:
    """Key changes inside one accepted segment that are settled and backed by a frame change: a swipe was missed."""
    found: list[tuple[float, tuple[str, ...]]] = []
    bounds = starts + [end_h]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        runs = [r for r in _runs(states, lo, hi) if r[3] >= config.settle_samples]
        for (key_a, _, last_a, _), (key_b, first_b, _, _) in zip(runs, runs[1:], strict=False):
            if key_a == key_b:
                continue
            between = [t for t in changes if last_a < t <= first_b]
            if between:
                found.append((between[0], ("frame", "key")))
    return found


def _meta_for(states: Sequence[TimedState], key: str | None, lo: float, hi: float) -> tuple[VideoMeta, str]:
    """The fullest reading of the video's metadata among its dumps, and the screen kind they agree on."""
    matching = [s for h, s in states if lo <= h < hi and s is not None and s.key == key and key is not None]
    if not matching:
        return VideoMeta(), "video"
    best = max(matching, key=lambda s: sum(v is not None and v != () for v in vars(s.meta).values()))
    kinds = Counter(s.kind for s in matching)
    return best.meta, kinds.most_common(1)[0][0]


def segment(states: Sequence[TimedState], gestures: Sequence[Gesture], frame_changes: Sequence[float],
            height: int, end_h: float, start_h: float | None = None, config: SegmentConfig | None = None) -> list[Segment]:
    """The videos of a capture, in order (times on the host clock; gestures already mapped to it)."""
    config = config or SegmentConfig()
    states = sorted(states, key=lambda s: s[0])
    changes = sorted(frame_changes)
    swipes = feed_swipes(sorted(gestures, key=lambda g: g.start_s), height, config)
    accepted = _accepted_swipes(states, swipes, changes, end_h, config)
    first = start_h if start_h is not None else min([h for h, s in states if s is not None and s.key] or [0.0])
    starts = [(first, ("start",))] + [a for a in accepted if a[0] > first]
    starts += _missed_starts(states, [s for s, _ in starts], changes, end_h, config)
    starts.sort()
    segments = []
    for i, (begin, evidence) in enumerate(starts):
        finish = starts[i + 1][0] if i + 1 < len(starts) else end_h
        key = _settled(states, begin, finish)
        meta, kind = _meta_for(states, key, begin, finish)
        segments.append(Segment(begin, finish, key, meta, kind, evidence))
    return segments


def frame_changes(thumbs: Sequence[tuple[float, bytes]], threshold: float = 9.0, lag_s: float = 0.3) -> list[float]:
    """Host times where the screen differs from the frame `lag_s` earlier by more than `threshold` (mean level change).

    Comparing with a frame a little earlier, not the previous one, catches scroll animations spread over several
    frames; a playing video changes less than that between its frames.
    """
    changes: list[float] = []
    j = 0
    for t, thumb in thumbs:
        while j + 1 < len(thumbs) and thumbs[j + 1][0] <= t - lag_s:
            j += 1
        ref_t, ref = thumbs[j]
        if ref_t >= t or len(ref) != len(thumb) or not thumb:
            continue
        diff = sum(abs(a - b) for a, b in zip(ref, thumb, strict=True)) / len(thumb)
        if diff > threshold and (not changes or t - changes[-1] > 1.5 * lag_s):  # one change, not one per frame
            changes.append(t)
    return changes
