"""Behaviour analysis of one or more Traces (human or agent alike): the features a persona and its audit rest on."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Any

import numpy as np

from recorder.errors import PersonaActError
from recorder.trace import Step, Trace

QUICK_SKIP_S = 3.0  # a view shorter than this is a swipe-past, not a watch
LONG_WATCH_S = 30.0  # a view this long (or the whole video, when its duration is known) is a long watch
MIN_VIDEOS = 5  # fewer views say nothing stable about a person
SESSION_GAP_S = 30 * 60  # a pause longer than this inside a trace starts a new session
UNKNOWN_CATEGORY = "unknown"
QUANTILE_LEVELS = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
BIMODALITY_THRESHOLD = 5 / 9  # Sarle's coefficient of a uniform distribution; above it suggests two modes
CONCENTRATED_QCD = 0.5  # quartile coefficient of dispersion below which durations count as concentrated
MIN_BIMODAL_VIDEOS = 8  # skewness/kurtosis are too noisy below this to call a distribution bimodal
EXAMPLES_PER_KIND = 3
SPREAD_CATEGORIES = 5
TOP_AUTHORS = 5


class NotEnoughDataError(ValueError, PersonaActError):
    """The traces hold too few videos to analyse; the message says how many are needed."""


@dataclass(frozen=True)
class WatchStats:
    """Watch-duration statistics and the empirical distribution itself.

    Shape rule: on log(1 + seconds), Sarle's bimodality coefficient BC = (g^2 + 1) / (k + 3(n-1)^2/((n-2)(n-3)))
    (g, k the bias-corrected skewness and excess kurtosis); BC > 5/9 with at least 8 videos is "bimodal"
    (e.g. many quick skips plus many long watches). Otherwise the quartile coefficient of dispersion
    (q75 - q25) / (q75 + q25) below 0.5 is "concentrated", else "dispersed".
    """

    mean: float
    median: float
    std: float
    quantiles: Mapping[str, float]  # "q05" .. "q95"
    distribution: tuple[float, ...]  # every watch duration, sorted ascending
    shape: str
    bimodality: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "distribution", tuple(float(d) for d in self.distribution))
        if not self.distribution:
            raise ValueError("WatchStats.distribution: needs at least one duration")
        if list(self.distribution) != sorted(self.distribution):
            raise ValueError("WatchStats.distribution: must be sorted ascending")
        if self.shape not in ("concentrated", "dispersed", "bimodal"):
            raise ValueError(f"WatchStats.shape: {self.shape!r} is not concentrated, dispersed or bimodal")

    @classmethod
    def from_durations(cls, durations: Sequence[float]) -> WatchStats:
        """Statistics of a non-empty collection of watch durations (seconds)."""
        values = np.sort(np.asarray(durations, dtype=float))
        if values.size == 0:
            raise NotEnoughDataError("watch statistics need at least 1 duration; got 0")
        quantiles = {quantile_key(q): float(np.quantile(values, q)) for q in QUANTILE_LEVELS}
        bc = bimodality_coefficient(np.log1p(values))
        return cls(float(values.mean()), float(np.median(values)), float(values.std()), quantiles,
                   tuple(values.tolist()), watch_shape(values, bc), bc)

    def empirical(self) -> EmpiricalDistribution:
        """The distribution as an invertible empirical CDF (for quantile matching and reversal)."""
        return EmpiricalDistribution.from_samples(self.distribution)


@dataclass(frozen=True)
class EmpiricalDistribution:
    """A continuous, strictly increasing version of an empirical CDF, so that F and F^-1 are exact inverses.

    Distinct values u_1 < ... < u_m sit at their mid-rank levels (centre of their run of ties - 0.5) / n,
    except that the smallest is pinned to level 0 and the largest to level 1; F interpolates linearly between.
    """

    values: tuple[float, ...]  # distinct sorted durations
    levels: tuple[float, ...]  # F at each value, strictly increasing from 0 to 1

    @classmethod
    def from_samples(cls, samples: Sequence[float]) -> EmpiricalDistribution:
        """Fit to a non-empty sample (seconds)."""
        # Microsecond resolution: finer differences are noise and would make interpolation slopes overflow.
        data = np.sort(np.round(np.asarray(samples, dtype=float), 6))
        if data.size == 0 or not np.all(np.isfinite(data)):
            raise NotEnoughDataError("an empirical distribution needs at least 1 finite sample; got none")
        values, first, counts = np.unique(data, return_index=True, return_counts=True)
        levels = (first + (counts - 1) / 2 + 0.5) / data.size
        if values.size > 1:
            levels[0], levels[-1] = 0.0, 1.0
        return cls(tuple(values.tolist()), tuple(levels.tolist()))

    def cdf(self, value: float) -> float:
        """F(value) in [0, 1] (clamped outside the observed range; 0.5 for a one-value sample)."""
        if len(self.values) == 1:
            return 0.5
        return float(np.interp(value, self.values, self.levels))

    def quantile(self, level: float) -> float:
        """F^-1(level) for level in [0, 1]."""
        if not 0.0 <= level <= 1.0:
            raise ValueError(f"quantile level must lie in [0, 1], got {level!r}")
        if len(self.values) == 1:
            return self.values[0]
        nearest = int(np.argmin(np.abs(np.asarray(self.levels) - level)))
        if abs(self.levels[nearest] - level) < 1e-12:  # land exactly on observed durations despite 1 - q rounding
            return self.values[nearest]
        return float(np.interp(level, self.levels, self.values))

    @property
    def median(self) -> float:
        """F^-1(0.5)."""
        return self.quantile(0.5)


@dataclass(frozen=True)
class AuthorShare:
    """One creator's share of the person's attention."""

    author: str
    videos: int
    watch_s: float
    likes: int


@dataclass(frozen=True)
class CreatorPreferences:
    """Which creators hold attention, and how often the same creators come back."""

    top_authors: tuple[AuthorShare, ...]
    known_author_share: float  # share of videos whose author is known
    repeat_creator_share: float  # among videos with a known author, share whose author appears more than once


@dataclass(frozen=True)
class TemporalHabits:
    """When and how long the person watches: local hour of day, session length and size."""

    hour_histogram: tuple[int, ...]  # 24 counts of videos by local hour (the trace header's time zone)
    session_minutes: tuple[float, ...]
    videos_per_session: tuple[int, ...]

    @property
    def n_sessions(self) -> int:
        """How many sessions (traces, split at pauses over 30 minutes)."""
        return len(self.session_minutes)

    @property
    def peak_hour(self) -> int:
        """The local hour with the most videos."""
        return int(np.argmax(self.hour_histogram))


@dataclass(frozen=True)
class PopularityBin:
    """Engagement with videos whose like_count falls in one tercile band."""

    label: str  # niche / middle / popular
    lower: float
    upper: float
    videos: int
    mean_watch_s: float
    like_rate: float


@dataclass(frozen=True)
class Example:
    """A representative video the interview can cite: what it was and how the person treated it."""

    trace_id: str
    step_index: int
    watch_s: float
    caption: str | None
    author: str | None
    category: str
    frame: str | None  # absolute path when the trace folder was given, else relative to the trace folder
    liked: bool = False


@dataclass(frozen=True)
class RepresentativeExamples:
    """Examples by kind: the longest watched, quick skips, liked, and one per leading category."""

    longest_watched: tuple[Example, ...] = ()
    quick_skipped: tuple[Example, ...] = ()
    liked: tuple[Example, ...] = ()
    category_spread: tuple[Example, ...] = ()


@dataclass(frozen=True)
class BehaviourFeatures:
    """Everything the analyser found in a person's (or agent's) traces; JSON round-trippable."""

    n_traces: int
    n_videos: int
    category_distribution: Mapping[str, float]  # top-level category -> share of videos, largest first
    liked_categories: Mapping[str, int]  # top-level category -> liked videos, largest first
    category_median_watch_s: Mapping[str, float]
    like_rate: float
    comment_rate: float
    share_rate: float
    watch: WatchStats
    quick_skip_rate: float
    long_watch_rate: float
    creators: CreatorPreferences
    temporal: TemporalHabits
    popularity: tuple[PopularityBin, ...]  # empty when like counts are unknown
    examples: RepresentativeExamples
    trace_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.n_videos < MIN_VIDEOS:
            raise NotEnoughDataError(f"BehaviourFeatures.n_videos: needs at least {MIN_VIDEOS}, got {self.n_videos}")
        for name in ("like_rate", "comment_rate", "share_rate", "quick_skip_rate", "long_watch_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"BehaviourFeatures.{name}: must lie in [0, 1], got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BehaviourFeatures:
        """Inverse of `to_dict`."""
        data = dict(data)
        try:
            data["watch"] = WatchStats(**data["watch"])
            creators = dict(data["creators"])
            creators["top_authors"] = tuple(AuthorShare(**a) for a in creators["top_authors"])
            data["creators"] = CreatorPreferences(**creators)
            data["temporal"] = TemporalHabits(**{k: tuple(v) for k, v in data["temporal"].items()})
            data["popularity"] = tuple(PopularityBin(**b) for b in data["popularity"])
            data["examples"] = RepresentativeExamples(
                **{k: tuple(Example(**e) for e in v) for k, v in data["examples"].items()})
            data["trace_ids"] = tuple(data.get("trace_ids", ()))
            return cls(**data)
        except (KeyError, TypeError) as err:
            raise ValueError(f"behaviour features: malformed or missing field ({err}); re-run the analysis") from err

    def summary(self) -> str:
        """A few lines a person can read: what, how long, how engaged, when."""
        w, t = self.watch, self.temporal
        top = ", ".join(f"{c} {s:.0%}" for c, s in list(self.category_distribution.items())[:3])
        liked = [c for c in self.liked_categories if c != UNKNOWN_CATEGORY]
        lines = [
            f"{self.n_videos} videos in {self.n_traces} trace(s), {t.n_sessions} session(s).",
            f"Categories: {top}." + (f" Liked most: {liked[0]}." if liked else ""),
            f"Watch time: median {w.median:.1f} s, mean {w.mean:.1f} s (q10 {w.quantiles['q10']:.1f} s, "
            f"q90 {w.quantiles['q90']:.1f} s), {w.shape}.",
            f"Quick skips (<{QUICK_SKIP_S:g} s) {self.quick_skip_rate:.0%}; long watches {self.long_watch_rate:.0%}.",
            f"Likes {self.like_rate:.1%}, comments {self.comment_rate:.1%}, shares {self.share_rate:.1%} of videos.",
            f"Sessions: median {np.median(t.session_minutes):.1f} min and {np.median(t.videos_per_session):.0f} videos; "
            f"busiest hour {t.peak_hour:02d}:00.",
        ]
        if self.creators.top_authors:
            lines.append(f"Top creator: {self.creators.top_authors[0].author}; repeat-creator share "
                         f"{self.creators.repeat_creator_share:.0%}.")
        if self.popularity:
            lines.append("By popularity: " + ", ".join(f"{b.label} likes {b.like_rate:.1%} / watch {b.mean_watch_s:.1f} s"
                                                       for b in self.popularity) + ".")
        return "\n".join(lines)


def quantile_key(level: float) -> str:
    """The dictionary key of a quantile level, e.g. 0.05 -> 'q05'.

    >>> quantile_key(0.05), quantile_key(0.5)
    ('q05', 'q50')
    """
    return f"q{round(level * 100):02d}"


def bimodality_coefficient(values: np.ndarray) -> float:
    """Sarle's bimodality coefficient with bias-corrected skewness and kurtosis (0 when undefined)."""
    n = values.size
    m2 = float(np.mean((values - values.mean()) ** 2))
    if n < 4 or m2 <= 1e-12:
        return 0.0
    m3 = float(np.mean((values - values.mean()) ** 3))
    m4 = float(np.mean((values - values.mean()) ** 4))
    skew = math.sqrt(n * (n - 1)) / (n - 2) * m3 / m2 ** 1.5
    kurt = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * (m4 / m2 ** 2 - 3) + 6)
    return (skew ** 2 + 1) / (kurt + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)))


def watch_shape(sorted_values: np.ndarray, bimodality: float) -> str:
    """Label a duration distribution concentrated, dispersed or bimodal (rule in WatchStats' docstring)."""
    if sorted_values.size >= MIN_BIMODAL_VIDEOS and bimodality > BIMODALITY_THRESHOLD:
        return "bimodal"
    q25, q75 = np.quantile(sorted_values, [0.25, 0.75])
    if q75 + q25 <= 0:
        return "concentrated"
    return "concentrated" if (q75 - q25) / (q75 + q25) < CONCENTRATED_QCD else "dispersed"


def top_category(step: Step) -> str:
    """The step's top-level category, or 'unknown'."""
    return step.category.top if step.category else UNKNOWN_CATEGORY


def is_long_watch(step: Step) -> bool:
    """At least 30 s, or the whole video when its duration is known and shorter."""
    full = step.meta.duration_s is not None and step.meta.duration_s > 0 and step.watch_s >= step.meta.duration_s
    return step.watch_s >= LONG_WATCH_S or full


def analyse(traces: Sequence[Trace], folders: Sequence[Path] | None = None) -> BehaviourFeatures:
    """Analyse traces of one person (or agent); `folders`, parallel to `traces`, resolve frame paths."""
    if folders is not None and len(folders) != len(traces):
        raise ValueError(f"analyse: got {len(folders)} folders for {len(traces)} traces; pass one folder per trace")
    rows = [(trace, step) for trace in traces for step in trace.steps]
    if len(rows) < MIN_VIDEOS:
        ids = ", ".join(t.header.trace_id for t in traces) or "none"
        raise NotEnoughDataError(f"behaviour analysis needs at least {MIN_VIDEOS} videos; got {len(rows)} from "
                                 f"{len(traces)} trace(s) ({ids}): record or import a longer session")
    steps = [s for _, s in rows]
    n = len(steps)
    return BehaviourFeatures(
        n_traces=len(traces), n_videos=n,
        category_distribution=_shares(Counter(top_category(s) for s in steps), n),
        liked_categories=dict(Counter(top_category(s) for s in steps if s.did("like")).most_common()),
        category_median_watch_s=_category_medians(steps),
        like_rate=_rate(steps, lambda s: s.did("like")), comment_rate=_rate(steps, lambda s: s.did("comment")),
        share_rate=_rate(steps, lambda s: s.did("share")),
        watch=WatchStats.from_durations([s.watch_s for s in steps]),
        quick_skip_rate=_rate(steps, lambda s: s.watch_s < QUICK_SKIP_S), long_watch_rate=_rate(steps, is_long_watch),
        creators=creator_preferences(steps), temporal=temporal_habits(traces),
        popularity=popularity_bins(steps), examples=representative_examples(traces, folders),
        trace_ids=tuple(t.header.trace_id for t in traces),
    )


def _rate(steps: Sequence[Step], predicate: Any) -> float:
    return sum(1 for s in steps if predicate(s)) / len(steps)


def _shares(counts: Counter, total: int) -> dict[str, float]:
    return {key: count / total for key, count in counts.most_common()}


def _category_medians(steps: Sequence[Step]) -> dict[str, float]:
    by_category: dict[str, list[float]] = defaultdict(list)
    for step in steps:
        by_category[top_category(step)].append(step.watch_s)
    return {c: float(np.median(v)) for c, v in sorted(by_category.items(), key=lambda kv: -len(kv[1]))}


def creator_preferences(steps: Sequence[Step]) -> CreatorPreferences:
    """Top creators by total watch time and the share of videos from creators seen more than once."""
    known = [s for s in steps if s.meta.author]
    if not known:
        return CreatorPreferences((), 0.0, 0.0)
    videos = Counter(str(s.meta.author) for s in known)  # `known` holds only steps with an author
    watch: dict[str, float] = defaultdict(float)
    likes: Counter = Counter()
    for step in known:
        watch[str(step.meta.author)] += step.watch_s
        likes[str(step.meta.author)] += int(step.did("like"))
    ranked = sorted(videos, key=lambda a: (-watch[a], a))[:TOP_AUTHORS]
    top = tuple(AuthorShare(a, videos[a], watch[a], likes[a]) for a in ranked)
    repeat = sum(c for c in videos.values() if c > 1) / len(known)
    return CreatorPreferences(top, len(known) / len(steps), repeat)


def temporal_habits(traces: Sequence[Trace]) -> TemporalHabits:
    """Hour-of-day histogram in each trace's own time zone, and session lengths (minutes, videos)."""
    hours = [0] * 24
    minutes: list[float] = []
    counts: list[int] = []
    for trace in traces:
        zone: tzinfo | None = trace.header.started_at.tzinfo
        for step in trace.steps:
            hours[step.appeared_at.astimezone(zone).hour] += 1
        for session in split_sessions(trace.steps):
            end = session[-1].appeared_at + timedelta(seconds=session[-1].watch_s)
            minutes.append((end - session[0].appeared_at).total_seconds() / 60.0)
            counts.append(len(session))
    return TemporalHabits(tuple(hours), tuple(minutes), tuple(counts))


def split_sessions(steps: Sequence[Step], gap_s: float = SESSION_GAP_S) -> list[list[Step]]:
    """Cut a trace's steps into sessions wherever the viewer paused longer than `gap_s`."""
    sessions: list[list[Step]] = []
    for step in steps:
        if sessions:
            last = sessions[-1][-1]
            pause = (step.appeared_at - last.appeared_at).total_seconds() - last.watch_s
            if pause <= gap_s:
                sessions[-1].append(step)
                continue
        sessions.append([step])
    return sessions


def popularity_bins(steps: Sequence[Step], min_known: int = 6) -> tuple[PopularityBin, ...]:
    """Watch and like rate in the like_count terciles (niche / middle / popular); empty when counts are unknown."""
    known = [s for s in steps if s.meta.like_count is not None]
    if len(known) < min_known:
        return ()
    counts = np.array([s.meta.like_count for s in known], dtype=float)
    low, high = np.quantile(counts, [1 / 3, 2 / 3])
    bands = (("niche", counts.min(), low, lambda c: c <= low), ("middle", low, high, lambda c: low < c <= high),
             ("popular", high, counts.max(), lambda c: c > high))
    out = []
    for label, lower, upper, inside in bands:
        members = [s for s in known if inside(s.meta.like_count)]
        if members:
            out.append(PopularityBin(label, float(lower), float(upper), len(members),
                                     float(np.mean([s.watch_s for s in members])), _rate(members, lambda s: s.did("like"))))
    return tuple(out)


def representative_examples(traces: Sequence[Trace], folders: Sequence[Path] | None = None) -> RepresentativeExamples:
    """The longest watched, the quickest skips, liked videos (longest first) and one per leading category."""
    where: Sequence[Path | None] = folders if folders is not None else [None] * len(traces)
    located = [(trace, folder, step) for trace, folder in zip(traces, where) for step in trace.steps]
    by_watch = sorted(located, key=lambda item: (-item[2].watch_s, item[0].header.trace_id, item[2].index))
    make = lambda items: tuple(_example(*item) for item in items[:EXAMPLES_PER_KIND])  # noqa: E731
    skips = [item for item in reversed(by_watch) if item[2].watch_s < QUICK_SKIP_S]
    liked = [item for item in by_watch if item[2].did("like")]
    spread: dict[str, tuple] = {}
    for item in by_watch:  # longest watched first, so each category keeps its longest watch
        spread.setdefault(top_category(item[2]), item)
    categories = [c for c in spread if c != UNKNOWN_CATEGORY] or list(spread)
    counts = Counter(top_category(s) for _, _, s in located)
    categories = sorted(categories, key=lambda c: -counts[c])[:SPREAD_CATEGORIES]
    return RepresentativeExamples(make(by_watch), make(skips), make(liked),
                                  tuple(_example(*spread[c]) for c in categories))


def _example(trace: Trace, folder: Path | None, step: Step) -> Example:
    frame = step.frames[0] if step.frames else None
    if frame is not None and folder is not None:
        frame = str(Path(folder) / frame)
    return Example(trace.header.trace_id, step.index, step.watch_s, step.meta.caption, step.meta.author,
                   top_category(step), frame, step.did("like"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def load_traces(paths: Sequence[Path]) -> tuple[list[Trace], list[Path]]:
    """Read every trace folder under `paths` (folders or parents of them); returns traces and their folders.

    Unreadable folders and repeated trace ids are left out, and empty traces noted, with a logged warning.
    """
    from recorder.store import find_trace_folders, read_traces

    return read_traces(find_trace_folders(list(paths)))
