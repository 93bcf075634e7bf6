"""The policy-evaluation report: methods x metrics, persona x method (Table 2) and ablation (Table 3) tables with
CIs, trivial baselines marked, paired differences, trace-level fidelity, and the calibration plot.

Reads evaluation.json as personas.evaluation writes it (rows of ESTIMATES per persona and method, baselines,
comparisons, fidelity, calibration, tables); every figure shown comes from the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.collect import Numbers
from reports.kinds.audit import anchor_slug
from reports.model import Block, Estimate, Part, Section, Table, Text
from reports.plots import bar_plot, scatter_plot
from reports.sources import Source

METRICS = (("smape", "SMAPE (fraction, lower is better)", ""), ("mae_s", "MAE of watch time", "s"),
           ("action_f1", "action F1 (higher is better)", ""), ("format_failure_rate", "format failures (share)", ""),
           ("latency_s", "decision latency", "s"))
POOLED = ("all", "pooled", "*", "overall")
BASELINE_HINTS = ("median", "baseline")


def policy_part(source: Source) -> Part:
    """Every table and plot of one evaluation.json."""
    data, slug = source.data, anchor_slug(source.label)
    col = Numbers(f"policy evaluation {source.label}")
    rows = [r for r in data.get("rows") or [] if isinstance(r, Mapping)]
    baselines = {str(b) for b in data.get("baselines") or []} | {str(r.get("method")) for r in rows if is_baseline(r)}
    labels = {str(m.get("name")): str(m.get("label") or m.get("name")) for m in data.get("methods") or []
              if isinstance(m, Mapping)}
    methods = list(dict.fromkeys(str(r.get("method")) for r in rows))
    personas = list(dict.fromkeys(str(r.get("persona")) for r in rows))
    pooled = [r for r in rows if str(r.get("persona")).lower() in POOLED] or (rows if len(personas) == 1 else [])

    def name(method: str) -> str:
        shown = labels.get(method, method)
        return f"{shown} (trivial baseline)" if method in baselines else shown

    blocks: list[Block] = []
    if pooled:
        metrics = [m for m in METRICS if any(m[0] in r for r in pooled)]
        blocks.append(Table("Every method on the pooled test set: mean [95% CI] (n test views)",
                            ("method", *(f"{title} ({unit})" if unit else title for _, title, unit in metrics)),
                            tuple((name(str(r.get("method"))),
                                   *(col.estimate(f"{r.get('persona')} / {r.get('method')}", key,
                                                  Estimate.parse(r[key], key), unit=unit) if key in r else "n/a"
                                     for key, _, unit in metrics)) for r in pooled)))
    per_persona = [p for p in personas if p.lower() not in POOLED]
    index = {(str(r.get("persona")), str(r.get("method"))): r for r in rows}
    if per_persona and methods:
        blocks += _persona_tables(per_persona, methods, index, name, col)
    ablation = _ablation(data, index, col)
    if ablation is not None:
        blocks.append(ablation)
    comparisons = _comparisons(data, name, col)
    if comparisons is not None:
        blocks.append(comparisons)
    fidelity = _fidelity(data, name, col)
    if fidelity is not None:
        blocks.append(fidelity)
    calibration = _calibration(data.get("calibration"), labels, col)
    if calibration is not None:
        blocks.append(calibration)
    if not rows:
        blocks.append(Text(f"{source.path}: no evaluation rows."))
    limitations = _limitations(data, rows, pooled, baselines, name, source.label)
    return Part((Section(f"policy-{slug}", f"Policy evaluation ({source.label})", tuple(blocks)),), tuple(col.rows),
                tuple(limitations), (str(source.path),))


def is_baseline(row: Mapping[str, Any]) -> bool:
    """A trivial baseline row: flagged by the producer, or named like one (medians)."""
    if "baseline" in row and isinstance(row["baseline"], bool):
        return row["baseline"]
    return any(hint in str(row.get("method", "")) for hint in BASELINE_HINTS)


def _persona_tables(personas: list[str], methods: list[str], index: Mapping[tuple[str, str], Mapping[str, Any]],
                    name: Any, col: Numbers) -> list[Block]:
    blocks: list[Block] = []
    for key, title in (("smape", "SMAPE"), ("action_f1", "action F1")):
        if not any(key in r for r in index.values()):
            continue
        table_rows = []
        for persona in personas:
            cells = []
            for method in methods:
                row = index.get((persona, method))
                cells.append(col.estimate(f"{persona} / {method}", key, Estimate.parse(row[key], key))
                             if row and key in row else "n/a")
            table_rows.append((persona, *cells))
        blocks.append(Table(f"{title} per persona and method (like the paper's Table 2): mean [95% CI] (n test views)",
                            ("persona", *(name(m) for m in methods)), tuple(table_rows)))
    if any("smape" in r for r in index.values()):
        bars = [(name(m), [Estimate.parse((index.get((p, m)) or {}).get("smape", float("nan")), "smape")
                           for p in personas]) for m in methods]
        blocks.append(bar_plot(personas, bars, "Watch-time SMAPE per persona and method",
                               "SMAPE (fraction, lower is better)",
                               "Test-set SMAPE of each method per persona with 95% bootstrap CIs; trivial baselines "
                               "included."))
    return blocks


def _ablation(data: Mapping[str, Any], index: Mapping[tuple[str, str], Mapping[str, Any]], col: Numbers) -> Any:
    variants = [v for v in (data.get("tables") or {}).get("table3") or [] if isinstance(v, Mapping)]
    if not variants:
        return None
    rows = []
    for variant in variants:
        method = variant.get("method")
        row = index.get(("all", str(method))) if method else None
        cells = [col.estimate(f"ablation {variant.get('variant')}", key, Estimate.parse(row[key], key))
                 if row and key in row else "not run" for key in ("smape", "action_f1", "format_failure_rate")]
        rows.append((str(variant.get("variant")), str(method or "not run"), *cells))
    return Table("Ablations on the pooled test set (like the paper's Table 3): mean [95% CI] (n)",
                 ("variant", "method", "SMAPE", "action F1", "format failures"), tuple(rows))


def _comparisons(data: Mapping[str, Any], name: Any, col: Numbers) -> Any:
    pairs = [c for c in data.get("comparisons") or [] if isinstance(c, Mapping) and "smape_diff" in c
             and str(c.get("persona")).lower() in POOLED]
    if not pairs:
        return None
    rows = tuple((name(str(c.get("method"))), name(str(c.get("baseline"))),
                  col.estimate(f"{c.get('method')} minus {c.get('baseline')}", "paired SMAPE difference",
                               Estimate.parse(c["smape_diff"], "smape_diff"))) for c in pairs)
    return Table("Paired SMAPE differences on the same pooled test views (method minus reference; below 0 = the "
                 "method is better)", ("method", "reference", "difference [95% CI] (n)"), rows)


def _fidelity(data: Mapping[str, Any], name: Any, col: Numbers) -> Any:
    rows = [f for f in data.get("fidelity") or [] if isinstance(f, Mapping)]
    if not rows:
        return None
    out = []
    for f in rows:
        item = f"fidelity {f.get('persona')} / {f.get('method')}"
        like, skip = f.get("like_rate") or {}, f.get("quick_skip_share") or {}
        out.append((str(f.get("persona")), name(str(f.get("method"))),
                    col.value(item, "n", f.get("n")), col.value(item, "watch-time KS distance", f.get("watch_ks")),
                    f"{col.value(item, 'like rate policy', like.get('policy'))} / "
                    f"{col.value(item, 'like rate human', like.get('human'))}",
                    f"{col.value(item, 'quick-skip share policy', skip.get('policy'))} / "
                    f"{col.value(item, 'quick-skip share human', skip.get('human'))}"))
    return Table("Trace-level fidelity on the test views: the policy's simulated behaviour against the human's",
                 ("persona", "method", "n", "watch-time KS distance (0 = same)", "like rate policy / human",
                  "quick skips (<3 s) policy / human"), tuple(out))


def _calibration(data: Any, labels: Mapping[str, str], col: Numbers) -> Any:
    """Predicted vs actual watch time per bin: {method: [{"bin", "n", "predicted", "actual"}, ...]}."""
    if not isinstance(data, Mapping):
        return None
    series: list[tuple[str, Sequence[float], Sequence[float]]] = []
    for method, bins in data.items():
        points = [b for b in bins or [] if isinstance(b, Mapping) and isinstance(b.get("predicted"), int | float)
                  and isinstance(b.get("actual"), int | float)]
        for b in points:
            col.value(f"calibration {method} bin {b.get('bin', b['predicted'])}", "predicted watch s",
                      float(b["predicted"]), n=b.get("n"), unit="s")
            col.value(f"calibration {method} bin {b.get('bin', b['predicted'])}", "actual watch s", float(b["actual"]),
                      n=b.get("n"), unit="s")
        if points:
            series.append((labels.get(str(method), str(method)), [float(b["predicted"]) for b in points],
                           [float(b["actual"]) for b in points]))
    if not series:
        return None
    return scatter_plot(series, "Calibration of predicted watch time", "predicted watch time (s, bin mean)",
                        "actual watch time (s, bin mean)",
                        "Mean actual watch time per bin of predicted watch time (pooled test views); points on the "
                        "dotted line are perfectly calibrated.")


def _limitations(data: Mapping[str, Any], rows: list[Mapping[str, Any]], pooled: list[Mapping[str, Any]],
                 baselines: set[str], name: Any, label: str) -> list[str]:
    if rows and not baselines:
        return [f"policy evaluation {label}: no trivial baseline in the file; the figures cannot be judged."]
    out = []
    pairs = [c for c in data.get("comparisons") or [] if isinstance(c, Mapping) and "smape_diff" in c
             and str(c.get("persona")).lower() in POOLED and str(c.get("baseline")) in baselines
             and str(c.get("method")) not in baselines]
    for c in pairs:
        diff = Estimate.parse(c["smape_diff"], "smape_diff")
        if diff.low > 0:
            out.append(f"policy {name(str(c.get('method')))} worse than the {name(str(c.get('baseline')))} (paired SMAPE "
                       f"difference {diff.text()}).")
        elif diff.high >= 0:
            out.append(f"policy {name(str(c.get('method')))} not better than the {name(str(c.get('baseline')))} "
                       f"(paired SMAPE difference {diff.text()}).")
    if not pairs:  # no paired differences in the file: compare the pooled means it reports
        base = [r for r in pooled if str(r.get("method")) in baselines and "smape" in r]
        if base:
            best = min(base, key=lambda r: Estimate.parse(r["smape"], "smape").mean)
            best_mean = Estimate.parse(best["smape"], "smape").mean
            for row in pooled:
                if str(row.get("method")) not in baselines and "smape" in row and \
                        Estimate.parse(row["smape"], "smape").mean >= best_mean:
                    out.append(f"policy {name(str(row.get('method')))} not better than the "
                               f"{name(str(best.get('method')))} (pooled SMAPE means).")
    for row in pooled:
        if "format_failure_rate" in row and Estimate.parse(row["format_failure_rate"], "ffr").mean > 0.1:
            out.append(f"{name(str(row.get('method')))}: {Estimate.parse(row['format_failure_rate'], 'ffr').mean:.0%} "
                       "of its replies failed the output grammar.")
    for method in data.get("methods") or []:
        if isinstance(method, Mapping) and method.get("subsample"):
            out.append(f"{method.get('label', method.get('name'))}: evaluated on a stratified subsample of the test "
                       "views (see its n).")
    return out
