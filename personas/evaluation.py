"""Policy evaluation on the session-temporal split: fidelity per persona and method, with CIs; writes evaluation.json.

Methods (specs): `training_median`, `last10_median`, `last_k_median` (k validated per persona), `statistical`
(the policy's shipped defaults), `statistical_tuned` (k, weight and point chosen per persona on validation),
`statistical_sampled` (the default policy sampling, as audits run it), `llm-sim`
(embedded chat model with the persona card; the -Tuning ablation), `llm-sim-no-persona` (-Both), a trained
adapter/model folder (Ours), `<folder>#no-persona` (-Persona at inference: the card left out of the prompt), and
`http:<model>@<base_url>` (a served adapter). Every method sees the human's true history (teacher forcing).

Methods that call a language model (llm-sim*, adapters, http) run on a seeded subsample of the pooled test views,
stratified by persona (`llm_max_views`, default 60), so a CPU run takes minutes; their rows say their own n, and
`comparisons` holds paired differences against the statistical policy on exactly those views.

evaluation.json (kind=policy_evaluation, schema_version 1):
  settings: the EvaluationConfig; split: view counts per part, zero-duration entries dropped, sessions without test
  methods: [{name, label, kind, setting per persona}]
  rows: [{persona ('all' = pooled), method, n, smape, mae_s, action_f1, format_failure_rate, latency_s}]
        (each metric an ESTIMATE {mean, ci: [low, high], n}; SMAPE as a fraction in [0, 2])
  fidelity: [{persona, method, n, watch_ks, like_rate: {policy, human}, quick_skip_share: {policy, human}}]
  calibration: {method: [{bin, n, predicted, actual}]}  (pooled; bin means of predicted and actual seconds)
  baselines: the trivial-baseline method names (rows also carry "baseline": true|false)
  comparisons: [{persona, method, baseline, smape_diff: ESTIMATE}]  (paired over the same views; < 0 = better)
  tables: {table2: per persona x method SMAPE and F1, table3: the ablation rows Ours/-Persona/-Tuning/-Both}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from personas.analysis import QUICK_SKIP_S
from personas.policy.base import SimplePersona
from personas.policy.dataset import SessionSplit, SplitConfig, session_splits
from personas.policy.methods import (
    LLM_METHODS,
    TRIVIAL,
    MethodBuild,
    build_method,
    contexts_for,
    is_model_method,
    observation_of,
)
from personas.policy.metrics import calibration, estimate, ks_distance, paired_difference, smape_terms
from recorder.errors import PersonaActError
from recorder.trace import Step, Trace

DEFAULT_METHODS = ("training_median", "last10_median", "last_k_median", "statistical", "statistical_tuned",
                   "statistical_sampled")
ABLATIONS = (("Ours", "adapter"), ("-Persona", "adapter#no-persona"), ("-Tuning", "llm-sim"),
             ("-Both", "llm-sim-no-persona"))
EVALUATION_FILE = "evaluation.json"


class EvaluationError(ValueError, PersonaActError):
    """The evaluation cannot run as asked; the message names the option."""


@dataclass(frozen=True)
class EvaluationConfig:
    """Options of `personaact evaluate` (loadable from YAML)."""

    validation_share: float = 0.1
    test_share: float = 0.1
    group_by: str = "collector"  # the header field naming whose persona a trace is: collector or persona_id
    k_grid: tuple[int, ...] = (1, 2, 3, 5, 8, 10, 13, 21, 34)
    weight_grid: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    points: tuple[str, ...] = ("median", "smape")
    min_category_samples: int = 10
    llm_max_views: int = 60
    history_len: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        SplitConfig(self.validation_share, self.test_share)
        if self.validation_share <= 0:
            raise EvaluationError("validation_share: must be > 0 (settings are chosen on validation)")
        if self.group_by not in ("collector", "persona_id"):
            raise EvaluationError(f"group_by: collector or persona_id, got {self.group_by!r}")
        if not self.k_grid or min(self.k_grid) < 1:
            raise EvaluationError(f"k_grid: window sizes >= 1, got {self.k_grid}")
        if not self.weight_grid or not all(0 <= w <= 1 for w in self.weight_grid):
            raise EvaluationError(f"weight_grid: weights in [0, 1], got {self.weight_grid}")
        if self.llm_max_views < 1:
            raise EvaluationError(f"llm_max_views: must be >= 1, got {self.llm_max_views}")


@dataclass(frozen=True)
class ViewResult:
    """One test view: the truth and one method's prediction."""

    persona: str
    trace_id: str
    step_index: int
    actual_s: float
    predicted_s: float
    actual: tuple[bool, bool, bool]  # like, comment, share
    predicted: tuple[bool, bool, bool]
    failed: bool  # the model's reply was unparseable (the fallback decision stands in)
    latency_s: float


@dataclass
class EvaluationResult:
    """Everything `evaluate` found (JSON via to_dict)."""

    settings: dict[str, Any]
    split: dict[str, Any]
    methods: list[dict[str, Any]]
    views: dict[str, list[ViewResult]] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def rows(self) -> list[dict[str, Any]]:
        """Metric rows per persona and method, pooled rows ('all') last."""
        out = []
        for method, views in self.views.items():
            for persona in [*sorted({v.persona for v in views}), "all"]:
                chosen = [v for v in views if persona in ("all", v.persona)]
                out.append({"persona": persona, "method": method, "baseline": method in TRIVIAL, "n": len(chosen),
                            **metric_estimates(chosen)})
        return out

    def row(self, persona: str, method: str) -> dict[str, Any]:
        """The metrics of one method on one persona ('all': pooled)."""
        return next(r for r in self.rows() if r["persona"] == persona and r["method"] == method)

    def to_dict(self) -> dict[str, Any]:
        """evaluation.json content (see the module docstring)."""
        rows = self.rows()
        return {"kind": "policy_evaluation", "schema_version": 1, "created_at": self.created_at,
                "settings": self.settings, "split": self.split, "methods": self.methods,
                "baselines": [m for m in self.views if m in TRIVIAL], "rows": rows,
                "fidelity": fidelity(self.views), "calibration": {m: calibration([v.actual_s for v in vs],
                                                                                 [v.predicted_s for v in vs])
                                                                  for m, vs in self.views.items()},
                "comparisons": comparisons(self.views), "tables": tables(rows, list(self.views))}


def metric_estimates(views: Sequence[ViewResult]) -> dict[str, Any]:
    """SMAPE, MAE, action F1, format-failure rate and latency of views, each an estimate with a bootstrap CI."""
    from personas.policy.base import Decision
    from personas.policy.rewards import action_f1

    actual, predicted = [v.actual_s for v in views], [v.predicted_s for v in views]
    f1 = [action_f1(Decision(0.0, *v.predicted), *v.actual) for v in views]
    return {"smape": estimate(smape_terms(actual, predicted).tolist()),
            "mae_s": estimate(np.abs(np.subtract(actual, predicted)).tolist()),
            "action_f1": estimate(f1), "format_failure_rate": estimate([float(v.failed) for v in views]),
            "latency_s": estimate([v.latency_s for v in views])}


def evaluate(traces: Sequence[Trace], config: EvaluationConfig | None = None,
             methods: Sequence[str] = DEFAULT_METHODS, cards: Mapping[str, Any] | None = None,
             chat: Any = None, progress: Callable[[], None] | None = None,
             folders: Sequence[Path] | None = None) -> EvaluationResult:
    """Split, validate per persona, predict every test view with every method, and collect the results.
    `folders` (parallel to `traces`) lets model methods see the recorded key frames."""
    config = config or EvaluationConfig()
    splits = session_splits(traces, SplitConfig(config.validation_share, config.test_share), config.group_by,
                            folders)
    _check_sizes(splits)
    contexts = contexts_for(splits, cards or {}, config)
    sample = llm_subsample(splits, config.llm_max_views, config.seed)
    result = EvaluationResult(_settings(config), split_summary(splits), [])
    if chat is None and any(spec in LLM_METHODS for spec in methods):
        from personas.models.factory import ChatModelConfig, build_chat_model

        chat = build_chat_model(ChatModelConfig())  # the embedded model, loaded once for every persona
    cache: dict[str, Any] = {}
    for spec in methods:
        build = {p: build_method(spec, ctx, config, chat, cache) for p, ctx in contexts.items()}
        keep = sample if is_model_method(spec) else None
        result.views[spec] = predict_views(splits, build, keep, frames=keep is not None)
        first = next(iter(build.values()))
        result.methods.append({"name": spec, "label": first.label, "kind": first.kind,
                               "setting": {p: b.setting for p, b in build.items()},
                               "subsample": keep is not None})
        if progress is not None:
            progress()
    return result


def predict_views(splits: Sequence[SessionSplit], build: Mapping[str, MethodBuild],
                  keep: set[tuple[str, int]] | None = None, frames: bool = False) -> list[ViewResult]:
    """Every (kept) test view predicted with its persona's policy, batched per persona when the policy batches."""
    from personas.policy.inference import PolicyRequest

    pending: dict[str, list[tuple[SessionSplit, Step, list[Step]]]] = {}
    for split in splits:
        history = split.before("test")
        for step in split.test:
            if keep is None or (split.trace_id, step.index) in keep:
                pending.setdefault(split.persona, []).append((split, step, list(history)))
            history.append(step)
    out = []
    for persona, items in pending.items():
        policy = build[persona].policy
        persona_ref = SimplePersona(persona)
        requests = [PolicyRequest(persona_ref, observation_of(step, len(h), split.folder if frames else None), h)
                    for split, step, h in items]
        if hasattr(policy, "act_batch"):
            decisions = policy.act_batch(requests)
            failed = [m == "failed" for m in getattr(policy, "last_modes", [])] or [False] * len(decisions)
        else:
            decisions = [policy.act(r.persona, r.observation, r.history) for r in requests]
            failed = [False] * len(decisions)
        for (split, step, _), decision, bad in zip(items, decisions, failed, strict=True):
            out.append(ViewResult(persona, split.trace_id, step.index, step.watch_s, decision.watch_s,
                                  (step.did("like"), step.did("comment"), step.did("share")),
                                  (decision.like, decision.comment, decision.share), bad, decision.latency_s))
    return out


def llm_subsample(splits: Sequence[SessionSplit], limit: int, seed: int) -> set[tuple[str, int]]:
    """A seeded subsample of test views, stratified by persona (each gets a share proportional to its test size)."""
    by_persona: dict[str, list[tuple[str, int]]] = {}
    for split in splits:
        by_persona.setdefault(split.persona, []).extend((split.trace_id, s.index) for s in split.test)
    total = sum(len(v) for v in by_persona.values())
    if total <= limit:
        return {key for keys in by_persona.values() for key in keys}
    rng = np.random.default_rng(seed)
    chosen: set[tuple[str, int]] = set()
    for persona in sorted(by_persona):
        keys = by_persona[persona]
        take = max(1, round(limit * len(keys) / total))
        chosen.update(keys[i] for i in rng.choice(len(keys), size=min(take, len(keys)), replace=False))
    return chosen


def split_summary(splits: Sequence[SessionSplit]) -> dict[str, Any]:
    """View counts per part and persona, zero-duration entries dropped, sessions too short for a test view."""
    parts = ("train", "validation", "test")
    return {"sizes": {p: sum(len(getattr(s, p)) for s in splits) for p in parts},
            "per_persona": {persona: {p: sum(len(getattr(s, p)) for s in splits if s.persona == persona)
                                      for p in parts} for persona in sorted({s.persona for s in splits})},
            "dropped_zero_duration": sum(s.dropped_zero for s in splits),
            "sessions": len(splits), "sessions_without_test": sum(1 for s in splits if not s.test)}


def fidelity(views: Mapping[str, Sequence[ViewResult]]) -> list[dict[str, Any]]:
    """Trace-level fidelity of each method's simulated test views against the human's."""
    out = []
    for method, items in views.items():
        for persona in [*sorted({v.persona for v in items}), "all"]:
            chosen = [v for v in items if persona in ("all", v.persona)]
            policy_s, human_s = [v.predicted_s for v in chosen], [v.actual_s for v in chosen]
            out.append({"persona": persona, "method": method, "n": len(chosen),
                        "watch_ks": ks_distance(policy_s, human_s),
                        "like_rate": {"policy": float(np.mean([v.predicted[0] for v in chosen])),
                                      "human": float(np.mean([v.actual[0] for v in chosen]))},
                        "quick_skip_share": {"policy": float(np.mean([s < QUICK_SKIP_S for s in policy_s])),
                                             "human": float(np.mean([s < QUICK_SKIP_S for s in human_s]))}})
    return out


def comparisons(views: Mapping[str, Sequence[ViewResult]], baseline: str = "statistical") -> list[dict[str, Any]]:
    """Paired SMAPE differences (method - baseline) over the views both predicted; for the statistical policy,
    against each trivial baseline."""
    out = []
    pairs = [(m, baseline) for m in views if m != baseline and baseline in views]
    pairs += [(baseline, b) for b in ("training_median", "last10_median", "last_k_median") if b in views and baseline in views]
    for method, other in pairs:
        ref = {(v.trace_id, v.step_index): v for v in views[other]}
        for persona in [*sorted({v.persona for v in views[method]}), "all"]:
            shared = [(v, ref[(v.trace_id, v.step_index)]) for v in views[method]
                      if persona in ("all", v.persona) and (v.trace_id, v.step_index) in ref]
            if shared:
                a = smape_terms([v.actual_s for v, _ in shared], [v.predicted_s for v, _ in shared])
                b = smape_terms([r.actual_s for _, r in shared], [r.predicted_s for _, r in shared])
                out.append({"persona": persona, "method": method, "baseline": other,
                            "smape_diff": paired_difference(a.tolist(), b.tolist())})
    return out


def tables(rows: Sequence[Mapping[str, Any]], methods: Sequence[str]) -> dict[str, Any]:
    """Table 2 (per persona x method: SMAPE, action F1) and Table 3 (ablations, pooled) in plain data."""
    personas = list(dict.fromkeys(r["persona"] for r in rows))
    table2 = [{"persona": p, **{m: {"smape": _mean(rows, p, m, "smape"), "action_f1": _mean(rows, p, m, "action_f1")}
                               for m in methods if any(r["persona"] == p and r["method"] == m for r in rows)}}
              for p in personas]
    table3 = []
    for label, role in ABLATIONS:
        method = next((m for m in methods if _role(m) == role), None)
        table3.append({"variant": label, "method": method,
                       **({k: _mean(rows, "all", method, k) for k in ("smape", "mae_s", "action_f1",
                                                                     "format_failure_rate")} if method else {})})
    return {"table2": table2, "table3": table3}


def _role(method: str) -> str:
    if method in ("llm-sim", "llm-sim-no-persona"):
        return method
    if is_model_method(method) and method not in LLM_METHODS:
        return "adapter#no-persona" if method.endswith("#no-persona") else "adapter"
    return ""


def _mean(rows: Sequence[Mapping[str, Any]], persona: str, method: str, key: str) -> float | None:
    row = next((r for r in rows if r["persona"] == persona and r["method"] == method), None)
    return None if row is None else float(row[key]["mean"])


def write_evaluation(result: EvaluationResult, out: Path, overwrite: bool = False) -> Path:
    """Write <out>/evaluation.json atomically; an existing one is never replaced silently."""
    from recorder.files import write_json_atomic

    path = out / EVALUATION_FILE
    if path.exists() and not overwrite:
        raise EvaluationError(f"{path}: exists from an earlier run; pass --overwrite or pick another --out")
    write_json_atomic(path, result.to_dict())
    return path


def _settings(config: EvaluationConfig) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def _check_sizes(splits: Sequence[SessionSplit]) -> None:
    for part in ("validation", "test"):
        if not any(getattr(s, part) for s in splits):
            raise EvaluationError(f"no {part} views: every session is too short for a {part} part (a session needs "
                                  f"at least {math.ceil(1 / 0.1)} non-zero views at 10%); give longer traces")
