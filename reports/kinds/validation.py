"""The validation report: BEP vs inertia and decline vs personalisation with CIs, and the pass/fail verdicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reports.collect import Numbers, key_values
from reports.model import Block, Estimate, Part, Section, Table, Verdict
from reports.plots import level_plot
from reports.sources import Source

METRIC_NAMES = {"bep": "BEP (Jensen-Shannon divergence, base 2)",
                "relative_decline": "relative diversity decline (persona minus control)",
                "persona_entropy_decline": "persona account's decline of top-level category entropy (share)",
                "relative_decline_vs_control": "relative diversity decline (persona minus control)"}
KNOB_NAMES = {"inertia": "sandbox inertia (0 = recent engagement dominates)",
              "personalisation": "sandbox personalisation (0 = random feed, 1 = fully model-driven)"}


def validation_part(source: Source) -> Part:
    """Verdicts, one plot and table per protocol checked, and the settings."""
    data = source.data
    col = Numbers("validation")
    passed = bool(data.get("passed"))
    blocks: list[Block] = [Verdict("validation overall", passed,
                                   "the audit ranks the sandbox's known knob levels correctly" if passed else
                                   "the audit did not rank the sandbox's knob levels as expected")]
    col.value("validation", "passed", passed)
    limitations: list[str] = []
    for protocol in ("depth", "breadth"):
        check = data.get(protocol)
        if isinstance(check, Mapping):
            blocks += _check(protocol, check, col, limitations)
    settings = data.get("settings")
    if isinstance(settings, Mapping) and settings:
        blocks.append(Table("Validation settings", ("setting", "value"), key_values(col, "settings", settings)))
    if not passed:
        limitations.append("validation failed: do not trust this toolkit's audit figures until it passes.")
    return Part((Section("validation", "Validation against the sandbox's ground truth", tuple(blocks)),),
                tuple(col.rows), tuple(limitations), (str(source.path),))


def _check(protocol: str, check: Mapping[str, Any], col: Numbers, limitations: list[str]) -> list[Block]:
    knob, metric = str(check.get("knob", "level")), str(check.get("metric", "value"))
    expect = str(check.get("expect", ""))
    levels = [lv for lv in check.get("levels") or [] if isinstance(lv, Mapping)]
    xs = [float(lv.get("level", i)) for i, lv in enumerate(levels)]
    ys = [Estimate.parse(lv, f"validation.{protocol}.levels[{i}]") for i, lv in enumerate(levels)]
    values = [[float(v) for v in lv.get("values") or [] if isinstance(v, int | float)] for lv in levels]
    metric_name, knob_name = METRIC_NAMES.get(metric, metric), KNOB_NAMES.get(knob, knob)
    blocks: list[Block] = []
    if levels:
        blocks.append(level_plot(xs, ys, values, f"{metric_name.split(' (')[0]} vs {knob} ({protocol} audits)",
                                 knob_name, metric_name,
                                 f"{metric_name} at each {knob} level: mean over seeds with 95% CI; dots are single "
                                 f"seeds. Expected: {expect} in {knob}."))
    rows = tuple((f"{x:g}", col.estimate(f"{protocol} {knob}={x:g}", metric, y), str(len(v)) if v else str(y.n))
                 for x, y, v in zip(xs, ys, values))
    blocks.append(Table(f"{metric_name} per {knob} level (mean [95% CI] (n seeds))", (knob, metric, "seeds"), rows))
    for x, per_seed in zip(xs, values):  # the plotted single-seed dots
        for i, value in enumerate(per_seed):
            col.value(f"{protocol} {knob}={x:g} seed {i}", metric, value, 6)
    for key, beside in check.items():  # other measures the producer reports per level, beside the verdict's
        rows_beside = [lv for lv in beside if isinstance(lv, Mapping) and "mean" in lv] \
            if key != "levels" and isinstance(beside, list) else []
        if rows_beside:
            shown = METRIC_NAMES.get(key, key.replace("_", " "))
            blocks.append(Table(f"Reported beside (not part of the verdict): {shown} per {knob} level",
                                (knob, shown), tuple((f"{float(lv.get('level', i)):g}", col.estimate(
                                    f"{protocol} {knob}={float(lv.get('level', i)):g}", key,
                                    Estimate.parse(lv, f"{protocol}.{key}[{i}]"))) for i, lv in enumerate(rows_beside))))
    for key, label in (("ranking_ok", f"{metric} {expect} in {knob}"),
                       ("extremes_disjoint", "CIs of the lowest and highest levels disjoint")):
        if key in check:
            ok = bool(check[key])
            col.value(f"{protocol} check", key, ok)
            blocks.append(Verdict(f"{protocol}: {label}", ok))
            if not ok:
                limitations.append(f"validation ({protocol}): {label}: failed.")
    seeds = min((len(v) for v in values), default=0)
    if 0 < seeds < 5:
        limitations.append(f"validation ({protocol}): only {seeds} seeds per level; CIs are wide.")
    return blocks
