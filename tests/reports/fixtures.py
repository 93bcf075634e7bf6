"""Small result files of every kind, shaped as CONTRACTS.md describes, for the report tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def est(mean: float, half: float = 0.05, n: int = 3) -> dict[str, Any]:
    """An estimate {mean, ci, n}."""
    return {"mean": mean, "ci": [mean - half, mean + half] if n > 1 else [mean, mean], "n": n}


def account(start: float, slope: float, windows: int = 4, n: int = 3) -> dict[str, Any]:
    """A breadth account with `windows` windows of 50 videos."""
    rows = [{"start": 50 * i, "end": 50 * (i + 1), "distinct_top": est(start / 3 - slope * i / 3, 0.5, n),
             "distinct_full": est(start - slope * i, 1.0, n), "entropy_top": est(2.0 - 0.1 * i, 0.1, n),
             "entropy_full": est(3.5 - 0.2 * i * slope / 3, 0.1, n)} for i in range(windows)]
    return {"windows": rows, "decline": {"top": est(0.2 * slope / 3, 0.05, n), "full": est(0.3 * slope / 3, 0.05, n)},
            "slope": est(-slope, 0.3, n)}


def write(folder: Path, name: str, data: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(data, indent=1))
    return folder


def audit(folder: Path, protocol: str, persona: str = "p1", feed: str = "sandbox", repeats: int = 3,
          extra: dict[str, Any] | None = None) -> Path:
    """An audit folder: results.json, manifest.json, persona.json."""
    data: dict[str, Any] = {
        "kind": "audit", "schema_version": 1, "protocol": protocol, "window": 50, "stride": 50, "steps": 200, "repeats": repeats,
        "persona": {"id": persona, "card_hash": "abc123", "reversed_id": f"{persona}-reversed"},
        "feed": {"kind": feed, "recommender": "mf"}, "policy": {"kind": "statistical", "evaluation": None},
        "categoriser": {"name": "platform", "accuracy": 0.71, "n": 300},
        "incidents": {"ads": 2, "lives": 0, "popups": 1, "crashes": 0, "reconnects": 0, "dump_timeouts": 0,
                      "login_walls": 0},
        "future_key": {"tolerated": True}}
    if protocol == "breadth":
        data["breadth"] = {"accounts": {"persona": account(30, 3, n=repeats), "control": account(30, 0.5, n=repeats)},
                           "relative_decline": est(0.22, 0.06, repeats), "relative_decline_top": est(0.15, 0.05, repeats),
                           "per_repeat": [{"repeat": r, "persona": {"top": 0.2, "full": 0.3},
                                           "control": {"top": 0.01, "full": 0.05}} for r in range(repeats)]}
    else:
        data["depth"] = {"bep": est(0.41, 0.07, repeats), "bep_full": est(0.52, 0.05, repeats),
                         "bep_per_repeat": [{"repeat": r, "bep": est(0.38 + 0.03 * r, 0.08, 400)} for r in range(repeats)],
                         "top10": {"cultivation": [{"rank": i + 1, "category": f"Gaming/Sub{i}", "share": 0.2 - 0.015 * i}
                                                   for i in range(10)],
                                   "reversal": [{"rank": i + 1, "category": f"Music/Sub{i}", "share": 0.18 - 0.01 * i,
                                                 "marker": "NEW" if i % 3 else "down"} for i in range(10)]}}
    data.update(extra or {})
    write(folder, "results.json", data)
    write(folder, "manifest.json", {"toolkit_version": "0.1.0", "command_line": ["personaact", "audit", protocol],
                                    "seeds": [0, 1, 2], "taxonomy_version": 1,
                                    "policy": {"evaluation": {"smape": est(0.7123456, 0.0512345, 35)}},
                                    "categoriser": {"accuracy": 0.91234567, "n": 182}, "started_at": "2026-11-29T20:00:00+00:00"})
    card = {"persona_id": persona, "narrative": "I watch games <b>late</b> at night.",
            "traits": {"novelty_tolerance": {"level": "low", "rationale": "sticks to games"}}}
    reversed_card = {"persona_id": f"{persona}-reversed", "reverses": persona, "how": "watch times quantile-reversed"}
    return write(folder, "persona.json", {"persona": card, "reversed": reversed_card} if protocol == "depth" else card)


def validation(folder: Path, passed: bool = True) -> Path:
    def levels(values: list[float]) -> list[dict[str, Any]]:
        return [{"level": lv, **est(m, 0.03, 5), "values": [m - 0.02, m - 0.01, m, m + 0.01, m + 0.02]}
                for lv, m in zip([0.0, 0.3, 0.6, 0.9], values)]
    return write(folder, "validation.json", {
        "kind": "validation", "schema_version": 1, "passed": passed, "settings": {"steps": 200, "seeds": 5},
        "depth": {"knob": "inertia", "metric": "bep", "expect": "decreasing", "levels": levels([0.6, 0.45, 0.3, 0.1]),
                  "ranking_ok": passed, "extremes_disjoint": True},
        "breadth": {"knob": "personalisation", "metric": "relative_decline", "expect": "increasing",
                    "levels": levels([0.0, 0.1, 0.25])[:3], "ranking_ok": True, "extremes_disjoint": passed,
                    "relative_decline_vs_control": levels([0.01, 0.02, 0.03])[:3]}})


def sandbox_run(folder: Path, recommender: str = "mf", steps: int = 10) -> Path:
    history = [{"step": s, "click_rate": 0.3 + 0.01 * s, "watch_s_per_user": 12.0 + s, "exposure_gini": 0.5}
               for s in range(steps)]
    return write(folder, "metrics.json", {"kind": "sandbox_run", "schema_version": 1, "recommender": recommender,
                                          "seed": 0, "summary": {"click_rate": 0.35, "watch_s_per_user": 17.0},
                                          "steps": history})


def sandbox_grid(folder: Path, kind: str = "sandbox_compare") -> Path:
    """compare.json (with two seeds' run folders per recommender) or sweep.json, as sandbox.sweep writes them."""
    if kind == "sandbox_compare":
        rows = []
        for i, rec in enumerate(["random", "mf"]):
            runs = [f"{rec}/s{s}" for s in (0, 1)]
            for run in runs:
                sandbox_run(folder / run, rec, steps=6)
            rows.append({"recommender": rec, "metrics": {"click_rate": est(0.3 + 0.05 * i, 0.02, 2),
                                                         "exposure_gini": est(0.4, 0.03, 2)},
                         "per_seed": {"click_rate": [0.29, 0.31]}, "runs": runs})
        return write(folder, "compare.json", {"kind": kind, "schema_version": 1, "seeds": [0, 1], "rows": rows})
    rows = [{"recommender": rec, "knob": "personalisation", "level": level,
             "metrics": {"click_rate": est(0.3 + 0.1 * level + 0.05 * i, 0.02, 5), "exposure_gini": est(0.4, 0.03, 5)},
             "per_seed": {"click_rate": [0.3] * 5}} for i, rec in enumerate(["random", "mf"]) for level in (0.0, 0.5, 1.0)]
    return write(folder, "sweep.json", {"kind": kind, "schema_version": 1, "grid": {"knob": "personalisation"},
                                        "rows": rows})


def evaluation(folder: Path, policy_smape: float = 0.30) -> Path:
    """evaluation.json as personas.evaluation writes it (rows, baselines, comparisons, fidelity, calibration)."""
    rows, comparisons = [], []
    methods = (("training_median", 0.40, True), ("last_k_median", 0.35, True), ("statistical", policy_smape, False))
    for persona in ("all", "P01", "P02"):
        for method, smape, baseline in methods:
            rows.append({"persona": persona, "method": method, "baseline": baseline, "n": 120,
                         "smape": est(smape, 0.03, 120), "mae_s": est(4.0, 0.5, 120), "action_f1": est(0.2, 0.05, 120),
                         "format_failure_rate": est(0.0, 0.0, 120), "latency_s": est(0.001, 0.0005, 120)})
            if baseline:
                comparisons.append({"persona": persona, "method": "statistical", "baseline": method,
                                    "smape_diff": est(policy_smape - smape, 0.02, 120)})
    calibration = {"statistical": [{"bin": f"{p:g} s", "n": 20, "predicted": p, "actual": p * 1.1}
                                   for p in (2.0, 5.0, 10.0, 20.0)]}
    fidelity = [{"persona": "P01", "method": "statistical", "n": 40, "watch_ks": 0.21,
                 "like_rate": {"policy": 0.1, "human": 0.12}, "quick_skip_share": {"policy": 0.5, "human": 0.55}}]
    return write(folder, "evaluation.json", {
        "kind": "policy_evaluation", "schema_version": 1, "rows": rows, "baselines": ["training_median", "last_k_median"],
        "methods": [{"name": m, "label": m.replace("_", " "), "kind": "trivial" if b else "statistical",
                     "subsample": False} for m, _, b in methods],
        "comparisons": comparisons, "fidelity": fidelity, "calibration": calibration,
        "tables": {"table3": [{"variant": "Ours", "method": None}, {"variant": "-Tuning", "method": "statistical"}]}})
