"""The policy-evaluation report: method x metric and persona x method tables with CIs, baselines, calibration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.collect import Numbers
from reports.kinds.audit import anchor_slug
from reports.model import Block, Estimate, Part, Section, Table, Text
from reports.plots import bar_plot, scatter_plot
from reports.sources import Source

METRICS = (("smape", "SMAPE (fraction, lower is better)"), ("mae_s", "MAE of watch time (s)"),
           ("action_f1", "action F1 (higher is better)"), ("format_failure_rate", "format failures (share)"))
POOLED = ("all", "pooled", "*", "overall")
BASELINE_HINTS = ("median", "baseline", "last_k", "training_")


def policy_part(source: Source) -> Part:
    """Tables shaped like the paper's Tables 2 and 3, a SMAPE bar plot, calibration, and baseline checks."""
    data, slug = source.data, anchor_slug(source.label)
    col = Numbers(f"policy evaluation {source.label}")
    rows = [r for r in data.get("rows") or [] if isinstance(r, Mapping)]
    baselines = set(data.get("baselines") or []) | {str(r.get("method")) for r in rows if is_baseline(r)}
    methods = list(dict.fromkeys(str(r.get("method")) for r in rows))
    personas = list(dict.fromkeys(str(r.get("persona")) for r in rows))
    metrics = [(k, name) for k, name in METRICS if any(k in r for r in rows)]
    blocks: list[Block] = []
    pooled = [r for r in rows if str(r.get("persona")).lower() in POOLED] or (rows if len(personas) == 1 else [])
    if pooled:
        blocks.append(Table("Methods compared on the pooled test set (like the paper's Table 2): mean [95% CI] (n)",
                            ("method", *(name for _, name in metrics)),
                            tuple((_method_name(str(r.get("method")), baselines),
                                   *(col.estimate(f"{r.get('persona')} / {r.get('method')}", k,
                                                  Estimate.parse(r[k], k)) if k in r else "n/a" for k, _ in metrics))
                                  for r in pooled)))
    per_persona = [p for p in personas if p.lower() not in POOLED]
    if per_persona and methods:
        index = {(str(r.get("persona")), str(r.get("method"))): r for r in rows}
        table_rows = []
        for persona in per_persona:
            cells = []
            for method in methods:
                row = index.get((persona, method))
                cells.append(col.estimate(f"{persona} / {method}", "smape", Estimate.parse(row["smape"], "smape"))
                             if row and "smape" in row else "n/a")
            table_rows.append((persona, *cells))
        blocks.append(Table("SMAPE per persona and method (like the paper's Table 3): mean [95% CI] (n test steps)",
                            ("persona", *(_method_name(m, baselines) for m in methods)), tuple(table_rows)))
        bars = [(m, [Estimate.parse((index.get((p, m)) or {}).get("smape", float("nan")), "smape")
                     for p in per_persona]) for m in methods]
        blocks.append(bar_plot(per_persona, bars, "Watch-time SMAPE per persona and method",
                               "SMAPE (fraction, lower is better)",
                               "Test-set SMAPE of each method per persona with 95% bootstrap CIs; trivial baselines "
                               "included."))
    calibration = _calibration(data.get("calibration"), col)
    if calibration is not None:
        blocks.append(calibration)
    limitations = _limitations(rows, pooled, baselines, source.label)
    if not rows:
        blocks.append(Text(f"{source.path}: no evaluation rows."))
    return Part((Section(f"policy-{slug}", f"Policy evaluation ({source.label})", tuple(blocks)),), tuple(col.rows),
                tuple(limitations), (str(source.path),))


def is_baseline(row: Mapping[str, Any]) -> bool:
    """A trivial baseline row: flagged by the producer, or named like one (medians)."""
    if "baseline" in row:
        return bool(row["baseline"])
    return any(hint in str(row.get("method", "")) for hint in BASELINE_HINTS)


def _method_name(method: str, baselines: set[str]) -> str:
    return f"{method} (baseline)" if method in baselines else method


def _calibration(data: Any, col: Numbers) -> Any:
    """Predicted vs actual watch time per bin: {method: [{"predicted": s, "actual": s, "n": k}, ...]}."""
    if not isinstance(data, Mapping):
        return None
    series: list[tuple[str, Sequence[float], Sequence[float]]] = []
    for method, bins in data.items():
        points = [b for b in bins or [] if isinstance(b, Mapping) and "predicted" in b and "actual" in b]
        for b in points:
            col.value(f"calibration {method} predicted {b['predicted']:g} s", "actual watch s", float(b["actual"]),
                      n=b.get("n"), unit="s")
        if points:
            series.append((str(method), [float(b["predicted"]) for b in points], [float(b["actual"]) for b in points]))
    if not series:
        return None
    return scatter_plot(series, "Calibration of predicted watch time", "predicted watch time (s, bin mean)",
                        "actual watch time (s, bin mean)",
                        "Mean actual watch time per bin of predicted watch time; points on the dotted line are "
                        "perfectly calibrated.")


def _limitations(rows: list[Mapping[str, Any]], pooled: list[Mapping[str, Any]], baselines: set[str],
                 label: str) -> list[str]:
    if rows and not baselines:
        return [f"policy evaluation {label}: no trivial baseline in the file; the figures cannot be judged."]
    out = []
    base_rows = [r for r in pooled if str(r.get("method")) in baselines and "smape" in r]
    if base_rows:
        best = min(base_rows, key=lambda r: Estimate.parse(r["smape"], "smape").mean)
        best_smape = Estimate.parse(best["smape"], "smape")
        for row in pooled:
            if str(row.get("method")) in baselines or "smape" not in row:
                continue
            est = Estimate.parse(row["smape"], "smape")
            if est.mean >= best_smape.mean:
                out.append(f"policy {row.get('method')} not better than the {best.get('method')} baseline "
                           f"(SMAPE {est.mean:.3f} vs {best_smape.mean:.3f}).")
            elif est.high >= best_smape.low and est.has_ci:
                out.append(f"policy {row.get('method')}: its SMAPE CI overlaps the {best.get('method')} baseline's.")
    return out
