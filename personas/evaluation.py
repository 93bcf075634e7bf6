"""Watch-time evaluation of the statistical policy against trivial baselines on a session-temporal split."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import product
from typing import Any

import numpy as np

from personas.policy import SimplePersona
from personas.policy.statistical import StatisticalPersonaModel, StatisticalPolicy, StatisticalPolicyConfig
from recorder.feed import Observation
from recorder.trace import Step, Trace

METHODS = ("training_median", "last_k_median", "statistical_policy")


@dataclass(frozen=True)
class EvaluationConfig:
    """Options of `persona evaluate` (loadable from YAML)."""

    train_share: float = 0.8
    validation_share: float = 0.1
    group_by: str = "collector"  # the header field naming whose persona a trace is: collector or persona_id
    k_grid: tuple[int, ...] = (1, 2, 3, 5, 8, 13, 21, 34)
    weight_grid: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    min_category_samples: int = 10

    def __post_init__(self) -> None:
        if not (0 < self.train_share < 1 and 0 <= self.validation_share < 1
                and self.train_share + self.validation_share < 1):
            raise ValueError(f"train_share {self.train_share} + validation_share {self.validation_share} must leave "
                             "a test share above 0")
        if self.group_by not in ("collector", "persona_id"):
            raise ValueError(f"group_by must be collector or persona_id, got {self.group_by!r}")
        if not self.k_grid or min(self.k_grid) < 1:
            raise ValueError(f"k_grid must list window sizes >= 1, got {self.k_grid}")
        if not self.weight_grid or not all(0 <= w <= 1 for w in self.weight_grid):
            raise ValueError(f"weight_grid must list weights in [0, 1], got {self.weight_grid}")


@dataclass(frozen=True)
class SessionSplit:
    """One session cut in time order: the first steps fit, the next validate, the last test."""

    persona: str
    trace_id: str
    train: tuple[Step, ...]
    validation: tuple[Step, ...]
    test: tuple[Step, ...]


def split_session(steps: Sequence[Step], train_share: float = 0.8, validation_share: float = 0.1) \
        -> tuple[tuple[Step, ...], tuple[Step, ...], tuple[Step, ...]]:
    """Cut at floor(n * train_share) and floor(n * (train_share + validation_share)); the rest is test.

    >>> [len(p) for p in split_session(list(range(20)))]
    [16, 2, 2]
    """
    n = len(steps)
    first = math.floor(n * train_share + 1e-9)
    second = max(first, math.floor(n * (train_share + validation_share) + 1e-9))
    return tuple(steps[:first]), tuple(steps[first:second]), tuple(steps[second:])


def smape(actual: Sequence[float], predicted: Sequence[float]) -> float:
    """Symmetric mean absolute percentage error in %: mean of |y - p| / ((|y| + |p|) / 2), 0/0 counted as 0.

    >>> round(smape([10.0, 0.0], [5.0, 0.0]), 3)
    33.333
    """
    y, p = _arrays(actual, predicted)
    scale = (np.abs(y) + np.abs(p)) / 2
    terms = np.divide(np.abs(y - p), scale, out=np.zeros_like(y), where=scale > 0)
    return float(terms.mean() * 100)


def mae(actual: Sequence[float], predicted: Sequence[float]) -> float:
    """Mean absolute error (seconds).

    >>> mae([10.0, 0.0], [5.0, 1.0])
    3.0
    """
    y, p = _arrays(actual, predicted)
    return float(np.abs(y - p).mean())


def _arrays(actual: Sequence[float], predicted: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"metrics need equally long, non-empty series; got {y.size} actual and {p.size} predicted")
    return y, p


# A predictor sees the persona's fitted model and the session's earlier steps and returns seconds.
Predictor = Callable[[StatisticalPersonaModel, Step, Sequence[Step]], float]


def training_median(model: StatisticalPersonaModel, step: Step, history: Sequence[Step]) -> float:
    """Baseline: the persona's training median, whatever happens."""
    return float(np.median(model.durations))


def last_k_median(k: int) -> Predictor:
    """Baseline: the median of the session's last k watch times (the training median before any)."""
    def predict(model: StatisticalPersonaModel, step: Step, history: Sequence[Step]) -> float:
        if not history:
            return training_median(model, step, history)
        return float(np.median([s.watch_s for s in history[-k:]]))
    return predict


def policy_predictor(config: StatisticalPolicyConfig) -> Predictor:
    """The statistical policy (deterministic) as a predictor."""
    def predict(model: StatisticalPersonaModel, step: Step, history: Sequence[Step]) -> float:
        observation = Observation(position=len(history), shown_at=step.appeared_at, meta=step.meta,
                                  category=step.category, transcript=step.transcript)
        return StatisticalPolicy(model, config).act(SimplePersona(model.persona_id), observation, history).watch_s
    return predict


@dataclass(frozen=True)
class MethodScore:
    """One method's test figures for one group (a collector, or all)."""

    group: str
    method: str
    smape: float
    mae: float
    n: int
    setting: str  # the hyper-parameters chosen on validation


@dataclass(frozen=True)
class EvaluationResult:
    """Everything `persona evaluate` found: the chosen settings and the test scores per group."""

    scores: tuple[MethodScore, ...]
    chosen_k: int
    chosen_policy: Mapping[str, float]
    split_sizes: Mapping[str, int]
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    def score(self, group: str, method: str) -> MethodScore:
        """The score of `method` on `group` ('all' for everything)."""
        return next(s for s in self.scores if s.group == group and s.method == method)


def build_splits(traces: Sequence[Trace], config: EvaluationConfig) -> list[SessionSplit]:
    """Split every non-empty trace (one session each) in time order."""
    splits = []
    for trace in traces:
        persona = getattr(trace.header, config.group_by) or trace.header.trace_id
        steps = sorted(trace.steps, key=lambda s: (s.appeared_at, s.index))
        train, validation, test = split_session(steps, config.train_share, config.validation_share)
        if steps:
            splits.append(SessionSplit(persona, trace.header.trace_id, train, validation, test))
    return splits


def fit_models(splits: Sequence[SessionSplit]) -> dict[str, StatisticalPersonaModel]:
    """One model per persona, fitted on the training part of that persona's sessions only."""
    personas = sorted({s.persona for s in splits})
    return {p: StatisticalPersonaModel.fit([st for s in splits if s.persona == p for st in s.train], persona_id=p)
            for p in personas}


def predictions(splits: Sequence[SessionSplit], models: Mapping[str, StatisticalPersonaModel], predictor: Predictor,
                part: str) -> list[tuple[str, float, float]]:
    """(persona, actual, predicted) for every step of `part`, with the session's true earlier steps as history."""
    out = []
    for split in splits:
        history = list(split.train) + (list(split.validation) if part == "test" else [])
        for step in getattr(split, part):
            out.append((split.persona, step.watch_s, predictor(models[split.persona], step, history)))
            history.append(step)
    return out


def evaluate(traces: Sequence[Trace], config: EvaluationConfig | None = None,
             progress: Callable[[], None] | None = None) -> EvaluationResult:
    """Choose k and the policy's blend on validation, then score every method on test, per persona and overall."""
    config = config or EvaluationConfig()
    splits = build_splits(traces, config)
    _check_sizes(splits)
    models = fit_models(splits)
    tick = progress or (lambda: None)
    k = _best(config.k_grid, lambda k: _validation_smape(splits, models, last_k_median(k), tick))
    settings = list(product(config.k_grid, config.weight_grid))
    policy_cfg = lambda kw: StatisticalPolicyConfig(recent_k=kw[0], recent_weight=kw[1],  # noqa: E731
                                                    min_category_samples=config.min_category_samples)
    best = _best(settings, lambda kw: _validation_smape(splits, models, policy_predictor(policy_cfg(kw)), tick))
    methods = {"training_median": (training_median, "median of the fit split"),
               "last_k_median": (last_k_median(k), f"k={k}"),
               "statistical_policy": (policy_predictor(policy_cfg(best)), f"k={best[0]}, weight={best[1]}")}
    scores = []
    for name, (predictor, setting) in methods.items():
        scores.extend(_group_scores(name, setting, predictions(splits, models, predictor, "test")))
        tick()
    sizes = {part: sum(len(getattr(s, part)) for s in splits) for part in ("train", "validation", "test")}
    return EvaluationResult(tuple(scores), k, {"recent_k": best[0], "recent_weight": best[1]}, sizes,
                            datetime.now(UTC).isoformat(timespec="seconds"))


def evaluation_steps(config: EvaluationConfig) -> int:
    """How many progress ticks `evaluate` makes (for a progress bar)."""
    return len(config.k_grid) * (1 + len(config.weight_grid)) + len(METHODS)


def _check_sizes(splits: Sequence[SessionSplit]) -> None:
    for part in ("validation", "test"):
        if not any(getattr(s, part) for s in splits):
            raise ValueError(f"no {part} steps: sessions are too short for a {part} split; give longer traces "
                             "(a session needs at least 10 videos for a one-video validation part)")


def _validation_smape(splits: Sequence[SessionSplit], models: Mapping[str, StatisticalPersonaModel],
                      predictor: Predictor, tick: Callable[[], None]) -> float:
    rows = predictions(splits, models, predictor, "validation")
    tick()
    return smape([r[1] for r in rows], [r[2] for r in rows])


def _best(candidates: Sequence[Any], loss: Callable[[Any], float]) -> Any:
    losses = [loss(c) for c in candidates]
    return candidates[int(np.argmin(losses))]  # the first of equal losses: the simplest setting listed first


def _group_scores(method: str, setting: str, rows: Sequence[tuple[str, float, float]]) -> list[MethodScore]:
    groups = sorted({r[0] for r in rows})
    out = []
    for group, members in [(g, [r for r in rows if r[0] == g]) for g in groups] + [("all", list(rows))]:
        actual, predicted = [r[1] for r in members], [r[2] for r in members]
        out.append(MethodScore(group, method, smape(actual, predicted), mae(actual, predicted), len(members), setting))
    return out
