"""Sandbox reports: a run's long-term metrics over time, and compare/sweep tables of mean and CI per grid point.

Reads what sandbox.runs (metrics.json, kind=sandbox_run) and sandbox.sweep (compare.json / sweep.json) write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.collect import Numbers
from reports.kinds.audit import anchor_slug
from reports.model import Block, Estimate, Part, Section, Table, Text
from reports.plots import Series, small_multiples
from reports.sources import Source

# Display names and units of the sandbox reporters (unknown metrics are shown by their key).
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "click_rate": ("click rate", "share of impressions"), "like_rate": ("like rate", "share of impressions"),
    "watch_s_per_user": ("watch time per user and step", "s"),
    "creator_retention": ("creators still active", "share"),
    "exposed_entropy": ("genre entropy of exposed items", "bits"),
    "created_entropy": ("genre entropy of created items", "bits"),
    "exposure_gini": ("exposure Gini across creators", "0-1"),
    "js_created_vs_demand": ("JS divergence created vs demanded genres", "0-1"),
    "explore_ratio": ("explore share of creator decisions", "share"),
    "impressions": ("impressions per step", "count"), "clicks": ("clicks per step", "count"),
    "utility_per_user": ("utility per user and step", "clicks + 2 likes + 3 comments/shares"),
    "items_created": ("items created per step", "count"),
    "created_coverage": ("genre coverage of created items", "share of genres"),
    "exposed_coverage": ("genre coverage of exposed items", "share of genres")}
STEP_KEYS = ("step",)


def metric_label(key: str) -> tuple[str, str]:
    """(words, unit) of a metric key."""
    return METRIC_LABELS.get(key, (key.replace("_", " "), "value"))


def run_part(runs: Sequence[Source]) -> Part:
    """One or more single runs overlaid: every per-step metric over time, and the run summaries."""
    col = Numbers("sandbox run")
    histories = {_run_name(run): [h for h in run.data.get("steps") or [] if isinstance(h, Mapping)] for run in runs}
    keys = list(dict.fromkeys(k for history in histories.values() for h in history for k, v in h.items()
                              if k not in STEP_KEYS and isinstance(v, int | float) and not isinstance(v, bool)))
    panels = []
    for key in keys:
        words, unit = metric_label(key)
        series = [Series(name, tuple(float(h.get("step", i)) for i, h in enumerate(history) if key in h),
                         tuple(Estimate.parse(h[key], key) for h in history if key in h))
                  for name, history in histories.items()]
        panels.append((words, unit, [s for s in series if s.xs]))
        for line in panels[-1][2]:
            col.series(line.label, key, list(line.xs), list(line.ys), "step")
    blocks: list[Block] = []
    if panels:
        blocks.append(small_multiples(panels, "Sandbox metrics over time", "simulation step",
                                      "Each sandbox metric per simulation step, one line per run (single seed each, "
                                      "so no CI band)."))
    summaries = {name: run.data.get("summary") for name, run in zip(histories, runs)}
    summary_keys = list(dict.fromkeys(k for s in summaries.values() if isinstance(s, Mapping) for k in s))
    if summary_keys:
        rows = tuple((name, *(col.value(name, f"summary {k}", (s or {}).get(k)) for k in summary_keys))
                     for name, s in summaries.items())
        blocks.append(Table("Run summaries: second-half means (creator retention at the end)",
                            ("run", *(f"{metric_label(k)[0]} ({metric_label(k)[1]})" for k in summary_keys)), rows))
    limitations = [f"sandbox run {name}: single seed: no CI." for name in histories]
    anchor = "sandbox-run" if len(runs) == 1 else "sandbox-runs"
    return Part((Section(anchor, "Sandbox run" + ("s" if len(runs) > 1 else ""), tuple(blocks)),), tuple(col.rows),
                tuple(limitations), tuple(str(r.path) for r in runs))


def _run_name(run: Source) -> str:
    rec, seed = run.data.get("recommender"), run.data.get("seed")
    return f"{run.label} ({rec}, seed {seed})" if rec is not None else run.label


def grid_part(source: Source) -> Part:
    """A compare or sweep: one row per grid point with mean [CI] (n) per metric, and CI curves over time if given."""
    data, kind = source.data, source.kind
    col = Numbers(f"{kind.replace('_', ' ')} {source.label}")
    points = _points(data)
    blocks: list[Block] = []
    if not points:
        blocks.append(Text(f"{source.path}: no grid points found (expected a list under 'points' or 'rows')."))
    id_keys = list(dict.fromkeys(k for p in points for k, v in p.items() if _is_label(k, v)))
    metric_keys = list(dict.fromkeys(k for p in points for k, v in _metrics(p).items() if _is_estimate(v)))
    rows = []
    for point in points:
        name = ", ".join(f"{k}={point.get(k)}" for k in id_keys)
        metrics = _metrics(point)
        rows.append((*(str(point.get(k, "")) for k in id_keys),
                     *(col.estimate(name, k, Estimate.parse(metrics[k], k)) if k in metrics else "n/a"
                       for k in metric_keys)))
    if rows:
        blocks.append(Table(f"{kind.replace('_', ' ')}: mean [95% CI] (n seeds) per metric and grid point",
                            (*id_keys, *(f"{metric_label(k)[0]} ({metric_label(k)[1]})" for k in metric_keys)),
                            tuple(rows)))
    if any(isinstance(p.get("runs"), list) for p in points):
        runs = _run_panels(source, points, id_keys, col)
        if runs:
            blocks.insert(0, small_multiples(runs, f"{kind.replace('_', ' ').capitalize()}: metrics over time, "
                                                   "every seed", "simulation step",
                                             "Each run's metric per simulation step (read from its metrics.json), "
                                             "one colour per grid point, one line per seed."))
    levels = _level_panels(points, metric_keys)
    if levels:
        blocks.insert(0, small_multiples(levels, f"Sandbox sweep: metrics by {points[0].get('knob')} level",
                                         f"{points[0].get('knob')} level",
                                         "Second-half mean of each metric per knob level, mean over seeds with the "
                                         "95% CI as a band, one line per recommender."))
    limitations = []
    ns = [Estimate.parse(_metrics(p)[k], k).n for p in points for k in metric_keys if k in _metrics(p)]
    if ns and min(ns) <= 1:
        limitations.append(f"{kind.replace('_', ' ')} {source.label}: single seed per grid point: no CI.")
    anchor = f"{kind.replace('_', '-')}-{anchor_slug(source.label)}"
    title = {"sandbox_compare": "Sandbox comparison of recommenders", "sandbox_sweep": "Sandbox sweep"}[kind]
    return Part((Section(anchor, f"{title} ({source.label})", tuple(blocks)),), tuple(col.rows), tuple(limitations),
                (str(source.path),))


def _points(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    for key in ("points", "rows", "grid", "results", "runs"):
        value = data.get(key)
        if isinstance(value, list):
            return [p for p in value if isinstance(p, Mapping)]
        if isinstance(value, Mapping):  # {name: {metric: estimate}}
            return [{"name": name, **dict(v)} for name, v in value.items() if isinstance(v, Mapping)]
    return []


def _metrics(point: Mapping[str, Any]) -> Mapping[str, Any]:
    nested = point.get("metrics") or point.get("summary")
    return nested if isinstance(nested, Mapping) else point


def _is_estimate(value: Any) -> bool:
    return isinstance(value, Mapping) and "mean" in value


def _is_label(key: str, value: Any) -> bool:
    return key not in ("metrics", "summary", "per_seed", "runs", "n") and (
        isinstance(value, str | bool) or (isinstance(value, int | float) and key not in METRIC_LABELS))


def _run_panels(source: Source, points: list[Mapping[str, Any]], id_keys: list[str], col: Numbers) \
        -> list[tuple[str, str, list[Series]]]:
    """Per-step curves of every seed's run folder listed in a compare row (paths relative to the compare folder)."""
    from reports.sources import read_json

    per_metric: dict[str, list[Series]] = {}
    for point in points:
        group = ", ".join(f"{point.get(k)}" for k in id_keys)
        for run in point.get("runs") or []:
            file = source.folder / str(run) / "metrics.json"
            if not file.is_file():
                continue
            history = [h for h in read_json(file).get("steps") or [] if isinstance(h, Mapping)]
            for key in dict.fromkeys(k for h in history for k, v in h.items()
                                     if k not in STEP_KEYS and isinstance(v, int | float) and not isinstance(v, bool)):
                have = [h for h in history if key in h]
                line = Series(f"{group} {run}", tuple(float(h.get("step", i)) for i, h in enumerate(have)),
                              tuple(Estimate.parse(h[key], key) for h in have), group)
                col.series(line.label, key, list(line.xs), list(line.ys), "step")
                per_metric.setdefault(key, []).append(line)
    return [(metric_label(k)[0], metric_label(k)[1], lines) for k, lines in per_metric.items()]


def _level_panels(points: list[Mapping[str, Any]], metric_keys: list[str]) -> list[tuple[str, str, list[Series]]]:
    """Sweep rows {recommender, knob, level, metrics}: each metric against the knob level, a line per recommender."""
    if not points or not all(isinstance(p.get("level"), int | float) and "knob" in p for p in points):
        return []
    panels = []
    for key in metric_keys:
        lines = []
        for rec in dict.fromkeys(str(p.get("recommender", "")) for p in points):
            rows = sorted((p for p in points if str(p.get("recommender", "")) == rec and key in _metrics(p)),
                          key=lambda p: float(p["level"]))
            if rows:
                lines.append(Series(rec, tuple(float(p["level"]) for p in rows),
                                    tuple(Estimate.parse(_metrics(p)[key], key) for p in rows)))
        panels.append((metric_label(key)[0], metric_label(key)[1], lines))
    return panels
