"""Policy evaluation: per-persona methods, bootstrap CIs, format failures, evaluation.json and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import typer
from typer.testing import CliRunner

from personas.cli_policy import register
from personas.evaluation import EvaluationConfig, EvaluationError, evaluate, write_evaluation
from personas.models.fake import ScriptedChatModel
from personas.policy.metrics import estimate, ks_distance, mae, smape
from recorder.store import write_trace
from recorder.trace import Action, Trace
from tests.builders import T0, make_header, make_step


def session(trace_id: str, watches: list[float], collector: str = "P01", like_every: int = 0) -> Trace:
    steps = [make_step(i, w, appeared_at=T0 + timedelta(minutes=i),
                       actions=(Action("like"),) if like_every and i % like_every == 0 else ())
             for i, w in enumerate(watches)]
    return Trace(make_header(trace_id, collector=collector, persona_id=collector), tuple(steps))


def sample_traces() -> list[Trace]:
    quick = [2.0 + (i % 3) for i in range(20)]
    return [session("a", quick), session("b", list(reversed(quick))),
            session("c", [20.0 + i for i in range(20)], "P02", like_every=2),
            session("d", [25.0 - i / 2 for i in range(20)], "P02", like_every=2)]


def test_metrics_on_a_hand_example():
    assert smape([10.0, 0.0, 4.0], [5.0, 0.0, 6.0]) == pytest.approx((5 / 7.5 + 0 + 2 / 5) / 3)  # a fraction
    assert smape([1.0], [0.0]) == 2.0 and mae([10.0, 0.0, 4.0], [5.0, 0.0, 6.0]) == pytest.approx(7 / 3)
    est = estimate([0.0, 1.0] * 50)
    assert est["mean"] == 0.5 and est["n"] == 100 and est["ci"][0] < 0.5 < est["ci"][1] < 0.7
    assert ks_distance([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]) == pytest.approx(1 / 3)


def test_evaluate_rows_have_cis_per_persona_and_pooled():
    result = evaluate(sample_traces(), EvaluationConfig())
    data = result.to_dict()
    assert data["kind"] == "policy_evaluation" and data["schema_version"] == 1
    assert data["split"]["sizes"] == {"train": 64, "validation": 8, "test": 8}
    rows = {(r["persona"], r["method"]): r for r in data["rows"]}
    assert {p for p, _ in rows} == {"P01", "P02", "all"} and rows[("all", "statistical")]["n"] == 8
    for row in data["rows"]:
        for key in ("smape", "mae_s", "action_f1", "format_failure_rate"):
            low, high = row[key]["ci"]
            assert low <= row[key]["mean"] <= high and row[key]["n"] == row["n"]
    # P02 likes every other video: the statistical policy (engagement from its rates) misses or hits, the trivial
    # baselines never like; on P01 (no likes at all) everyone scores F1 = 1
    assert rows[("P01", "training_median")]["action_f1"]["mean"] == 1.0
    assert rows[("P02", "training_median")]["action_f1"]["mean"] == 0.5
    assert rows[("P02", "last10_median")]["smape"]["mean"] < rows[("P02", "training_median")]["smape"]["mean"] + 0.1
    assert {t["variant"] for t in data["tables"]["table3"]} == {"Ours", "-Persona", "-Tuning", "-Both"}
    assert any(c["method"] == "statistical" and c["baseline"] == "last10_median" for c in data["comparisons"])
    assert data["calibration"]["statistical"] and data["baselines"] == ["training_median", "last10_median",
                                                                         "last_k_median"]
    fid = {(f["persona"], f["method"]): f for f in data["fidelity"]}
    assert fid[("P02", "training_median")]["like_rate"] == {"policy": 0.0, "human": 0.5}


def test_llm_sim_counts_format_failures_on_a_subsample():
    replies = iter(['{"watch_seconds": 3, "like": false, "comment": false, "share": false}', "no idea"] * 20)
    chat = ScriptedChatModel(lambda messages: next(replies))
    config = EvaluationConfig(llm_max_views=4)
    result = evaluate(sample_traces(), config, ["statistical", "llm-sim", "llm-sim-no-persona"], chat=chat,
                      cards={"P01": "I skip almost everything."})
    sim = result.row("all", "llm-sim")
    assert sim["n"] == 4 and sim["format_failure_rate"]["mean"] == 0.5
    assert result.row("all", "statistical")["n"] == 8
    assert {m["name"]: m["subsample"] for m in result.methods} == {"statistical": False, "llm-sim": True,
                                                                    "llm-sim-no-persona": True}
    assert any(c["method"] == "llm-sim" and c["smape_diff"]["n"] == 4 for c in result.to_dict()["comparisons"])
    table3 = {t["variant"]: t for t in result.to_dict()["tables"]["table3"]}
    assert table3["-Tuning"]["method"] == "llm-sim" and table3["-Both"]["method"] == "llm-sim-no-persona"
    assert table3["Ours"]["method"] is None  # no adapter evaluated


def test_refusals_name_the_problem(tmp_path):
    with pytest.raises(EvaluationError, match="no validation views"):
        evaluate([session("a", [1.0] * 5)])
    with pytest.raises(EvaluationError, match="validation_share"):
        EvaluationConfig(validation_share=0.0)
    result = evaluate(sample_traces(), EvaluationConfig(), ["training_median"])
    write_evaluation(result, tmp_path)
    with pytest.raises(EvaluationError, match="--overwrite"):
        write_evaluation(result, tmp_path)
    write_evaluation(result, tmp_path, overwrite=True)


def test_cli_prints_tables_and_writes_json(tmp_path):
    for trace in sample_traces():
        write_trace(tmp_path / "traces" / trace.header.trace_id, trace)
    app = typer.Typer()
    register(app)
    app.callback()(lambda: None)
    args = ["evaluate", "--dataset", str(tmp_path / "traces"), "--methods", "training_median,statistical",
            "--out", str(tmp_path / "eval")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "SMAPE" in result.output and "P02" in result.output and "statistical" in result.output
    saved = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    assert [m["name"] for m in saved["methods"]] == ["training_median", "statistical"]
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "--overwrite" in " ".join(again.output.split())
    bad = CliRunner().invoke(app, ["evaluate", "--dataset", str(tmp_path / "missing")])
    assert bad.exit_code == 2 and "no such file" in " ".join(bad.output.split())
    odd = CliRunner().invoke(app, args[:3] + ["--methods", "nonsense", "--out", str(tmp_path / "e2")])
    assert odd.exit_code == 2 and "not a known method" in " ".join(odd.output.split())
