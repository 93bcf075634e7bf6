"""An audit folder's numbers: computed from its traces, written as results.json (kind=audit) and results.csv.

Folder layout (one per audit; refused when non-empty unless --resume):

    <out>/manifest.json            run manifest (audit.manifest): toolkit version, command line, feed, persona id and
                                   card hash, policy, seeds, taxonomy version, categoriser and its accuracy,
                                   start/end times, incidents
    <out>/results.json             every number (below)
    <out>/results.csv              the same numbers flattened
    <out>/persona.json             the persona card used (depth: also "reversed")
    <out>/repeats/rNNN/<account>/  trace folders (recorder TraceWriter format) with runner.jsonl timings;
                                   account = persona | control (breadth) or account (depth: cultivation then reversal)

results.json (schema_version 1). ESTIMATE = {"mean": float, "ci": [low, high], "n": int} (95% CI; n = repeats
unless said otherwise; a single repeat gives ci = [mean, mean]):

    {"kind": "audit", "schema_version": 1, "protocol": "breadth" | "depth",
     "window": W, "stride": S, "steps": N, "repeats": R,
     "persona": {"id": str, "card_hash": str | null, "reversed_id": str | null},
     "feed": {"kind": "sandbox" | "virtual" | "phone", ...feed description},
     "policy": {"kind": str, "evaluation": {...} | null},
     "categoriser": {"name": str, "accuracy": float | null, "n": int},
     "incidents": {"ads", "lives", "popups", "crashes", "reconnects", "dump_timeouts", "login_walls",
                   "action_failures"} (summed over repeats and accounts),
     "breadth": {                                    # breadth only
        "accounts": {"persona": ACCOUNT, "control": ACCOUNT},
        "relative_decline": ESTIMATE,                # headline: persona's decline minus control's (full level)
        "relative_decline_top": ESTIMATE,            # the same at the top level
        "per_repeat": [{"repeat": r, "persona": {"top": d, "full": d}, "control": {...}}]},
     "depth": {                                      # depth only
        "bep": ESTIMATE,                             # mean BEP across repeats, t CI across repeats (R >= 2)
        "bep_per_repeat": [{"repeat": r, "bep": ESTIMATE}],   # each with its own bootstrap CI (n = videos)
        "bep_full": ESTIMATE,                        # the same on full category paths
        "top10": {"cultivation": [{"rank", "category", "share"}],
                  "reversal": [{"rank", "category", "share", "marker": "NEW" | "up" | "down" | "="}]}}}
                                                     # top-10 tables pool every repeat's videos

    ACCOUNT = {"windows": [{"start", "end", "distinct_top", "distinct_full", "entropy_top", "entropy_full"}],
               "decline": {"top": ESTIMATE, "full": ESTIMATE, "entropy_top": ESTIMATE, "entropy_full": ESTIMATE},
               "slope": ESTIMATE}
    (decline top/full: of the distinct-category counts; entropy_*: of the category entropy; per_repeat rows carry
    the same four declines per account)
    (window values are ESTIMATES across repeats; "slope" is the full-level distinct-count trend per window:
    with one repeat its CI is the regression's t CI, with several it is the CI across repeats' slopes)

results.csv columns: metric,account,repeat,window_start,value,ci_low,ci_high,n ("repeat" is empty for the
across-repeat estimate, "account" is empty for depth and the headline).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from audit import metrics as m
from recorder.files import atomic_write_bytes, write_json_atomic
from recorder.trace import Step

RESULTS_FILE = "results.json"
CSV_FILE = "results.csv"
CSV_COLUMNS = ("metric", "account", "repeat", "window_start", "value", "ci_low", "ci_high", "n")


def account_windows(steps: Sequence[Step], window: int, stride: int | None) -> dict[str, list[float]]:
    """Per-window series of one account's trace: distinct and entropy at both levels, plus window starts."""
    top, full = m.labels(steps, "top"), m.labels(steps, "full")
    bounds = m.windows(len(full), window, stride)
    return {"start": [float(a) for a, _ in bounds], "end": [float(b) for _, b in bounds],
            "distinct_top": m.window_series(top, window, stride), "distinct_full": m.window_series(full, window, stride),
            "entropy_top": m.window_series(top, window, stride, m.entropy),
            "entropy_full": m.window_series(full, window, stride, m.entropy)}


def account_block(per_repeat: Sequence[Mapping[str, list[float]]]) -> dict[str, Any]:
    """The ACCOUNT object from each repeat's window series."""
    n_windows = min(len(s["start"]) for s in per_repeat)
    rows = []
    for w in range(n_windows):
        row: dict[str, Any] = {"start": int(per_repeat[0]["start"][w]), "end": int(per_repeat[0]["end"][w])}
        for key in ("distinct_top", "distinct_full", "entropy_top", "entropy_full"):
            row[key] = m.mean_ci([s[key][w] for s in per_repeat]).to_dict()
        rows.append(row)
    decline = {level: m.mean_ci([m.relative_decline(s[f"distinct_{level}"]) for s in per_repeat]).to_dict()
               for level in ("top", "full")}
    for level in ("top", "full"):  # the same decline measured on category entropy (less noisy than counts)
        decline[f"entropy_{level}"] = m.mean_ci([m.relative_decline(s[f"entropy_{level}"]) for s in per_repeat]).to_dict()
    slopes = [m.trend_slope(s["distinct_full"]) for s in per_repeat]
    slope = slopes[0] if len(slopes) == 1 else m.mean_ci([s.mean for s in slopes])
    return {"windows": rows, "decline": decline, "slope": slope.to_dict()}


def breadth_block(persona: Sequence[Sequence[Step]], control: Sequence[Sequence[Step]], window: int,
                  stride: int | None) -> dict[str, Any]:
    """The breadth block: both accounts' windows and the persona's decline relative to the control's."""
    p_series = [account_windows(t, window, stride) for t in persona]
    c_series = [account_windows(t, window, stride) for t in control]
    per_repeat, rel = [], {"top": [], "full": []}  # type: ignore[var-annotated]
    for r, (p, c) in enumerate(zip(p_series, c_series, strict=True)):
        row: dict[str, Any] = {"repeat": r, "persona": {}, "control": {}}
        for level in ("top", "full"):
            pd, cd = m.relative_decline(p[f"distinct_{level}"]), m.relative_decline(c[f"distinct_{level}"])
            row["persona"][level], row["control"][level] = pd, cd
            rel[level].append(pd - cd)
            for name, series in (("persona", p), ("control", c)):
                row[name][f"entropy_{level}"] = m.relative_decline(series[f"entropy_{level}"])
        per_repeat.append(row)
    return {"accounts": {"persona": account_block(p_series), "control": account_block(c_series)},
            "relative_decline": m.mean_ci(rel["full"]).to_dict(),
            "relative_decline_top": m.mean_ci(rel["top"]).to_dict(), "per_repeat": per_repeat}


def depth_block(phases: Sequence[tuple[Sequence[Step], Sequence[Step]]], bootstrap: int = 1000,
                seed: int = 0) -> dict[str, Any]:
    """The depth block: BEP per repeat (bootstrap CI) and across repeats, and the pooled top-10 shift."""
    per_repeat, values, full_values = [], [], []
    pooled_a: list[str] = []
    pooled_b: list[str] = []
    for r, (cultivation, reversal) in enumerate(phases):
        a, b = m.labels(cultivation, "top"), m.labels(reversal, "top")
        est = m.bep_bootstrap(a, b, bootstrap, seed + r)
        per_repeat.append({"repeat": r, "bep": est.to_dict()})
        values.append(est.mean)
        full_values.append(m.bep(m.labels(cultivation, "full"), m.labels(reversal, "full")))
        pooled_a += a
        pooled_b += b
    headline = per_repeat[0]["bep"] if len(phases) == 1 else m.mean_ci(values).to_dict()
    before, after = m.top_k_shift(pooled_a, pooled_b, 10)
    return {"bep": headline, "bep_per_repeat": per_repeat, "bep_full": m.mean_ci(full_values).to_dict(),
            "top10": {"cultivation": [r.to_dict() for r in before], "reversal": [r.to_dict() for r in after]}}


def csv_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every number of results.json as flat rows (CSV_COLUMNS)."""
    rows: list[dict[str, Any]] = []

    def add(metric: str, est: Mapping[str, Any], account: str = "", repeat: Any = "", start: Any = "") -> None:
        rows.append({"metric": metric, "account": account, "repeat": repeat, "window_start": start,
                     "value": est["mean"], "ci_low": est["ci"][0], "ci_high": est["ci"][1], "n": est["n"]})

    breadth = results.get("breadth")
    if breadth:
        add("relative_decline", breadth["relative_decline"])
        add("relative_decline_top", breadth["relative_decline_top"])
        for name, acc in breadth["accounts"].items():
            for w in acc["windows"]:
                for key in ("distinct_top", "distinct_full", "entropy_top", "entropy_full"):
                    add(key, w[key], name, "", w["start"])
            for level, est in acc["decline"].items():
                add(f"decline_{level}", est, name)
            add("slope", acc["slope"], name)
        for row in breadth["per_repeat"]:
            for name in ("persona", "control"):
                for level, value in row[name].items():
                    add(f"decline_{level}", {"mean": value, "ci": [value, value], "n": 1}, name, row["repeat"])
    depth = results.get("depth")
    if depth:
        add("bep", depth["bep"])
        add("bep_full", depth["bep_full"])
        for row in depth["bep_per_repeat"]:
            add("bep", row["bep"], "", row["repeat"])
    for name, count in results.get("incidents", {}).items():
        add(f"incidents_{name}", {"mean": count, "ci": [count, count], "n": 1})
    return rows


def write_results(folder: Path, results: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write results.json and results.csv atomically."""
    write_json_atomic(folder / RESULTS_FILE, dict(results))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(results))
    atomic_write_bytes(folder / CSV_FILE, buffer.getvalue().encode("utf-8"))
    return folder / RESULTS_FILE, folder / CSV_FILE
