"""Session-temporal split, metrics, and the SMAPE/MAE table on the shared public traces."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import typer
from typer.testing import CliRunner

from personas.cli_policy import register, register_policy_commands
from personas.evaluation import (
    METHODS,
    EvaluationConfig,
    build_splits,
    evaluate,
    fit_models,
    last_k_median,
    mae,
    predictions,
    smape,
    split_session,
    training_median,
)
from recorder.trace import Trace
from tests.builders import T0, make_header, make_step


def session(trace_id: str, watches: list[float], collector: str = "P01", shuffled_times: bool = False) -> Trace:
    steps = [make_step(i, w, appeared_at=T0 + timedelta(minutes=i)) for i, w in enumerate(watches)]
    if shuffled_times:  # indices in order, times not: the split must follow time
        steps = [make_step(i, watches[i], appeared_at=T0 + timedelta(minutes=len(watches) - i))
                 for i in range(len(watches))]
    return Trace(make_header(trace_id, collector=collector), tuple(steps))


def test_split_is_temporal_and_per_session():
    traces = [session("a", [float(i) for i in range(20)]), session("b", [float(i) for i in range(10)], "P02"),
              session("c", [float(i) for i in range(10)], shuffled_times=True)]
    splits = build_splits(traces, EvaluationConfig())
    assert [(len(s.train), len(s.validation), len(s.test)) for s in splits] == [(16, 2, 2), (8, 1, 1), (8, 1, 1)]
    for split in splits:
        times = [[st.appeared_at for st in part] for part in (split.train, split.validation, split.test)]
        assert max(times[0]) < min(times[1]) and max(times[1]) < min(times[2])
    assert [st.index for st in splits[0].test] == [18, 19]  # the end of each session, not of the pooled data
    assert [st.index for st in splits[1].test] == [9]
    assert [st.index for st in splits[2].test] == [0]  # latest in time
    assert [s.persona for s in splits] == ["P01", "P02", "P01"]
    assert [len(p) for p in split_session(list(range(5)))] == [4, 0, 1]


def test_metrics_on_a_hand_example():
    assert smape([10.0, 0.0, 4.0], [5.0, 0.0, 6.0]) == pytest.approx((5 / 7.5 + 0 + 2 / 5) / 3 * 100)
    assert mae([10.0, 0.0, 4.0], [5.0, 0.0, 6.0]) == pytest.approx(7 / 3)
    assert smape([3.0], [3.0]) == 0.0 and smape([1.0], [0.0]) == 200.0
    with pytest.raises(ValueError, match="equally long"):
        smape([1.0], [1.0, 2.0])


def test_predictions_use_only_the_past_of_the_same_session():
    traces = [session("a", [1, 1, 1, 1, 1, 1, 1, 1, 9, 5]), session("b", [4.0] * 10)]
    splits = build_splits(traces, EvaluationConfig())
    models = fit_models(splits)
    assert sorted(models["P01"].durations) == [1.0] * 8 + [4.0] * 8
    rows = predictions(splits, models, last_k_median(1), "test")
    assert rows == [("P01", 5.0, 9.0), ("P01", 4.0, 4.0)]  # session a's test sees its validation step (9 s)
    rows = predictions(splits, models, last_k_median(2), "validation")
    assert rows == [("P01", 9.0, 1.0), ("P01", 4.0, 4.0)]
    assert predictions(splits, models, training_median, "test")[0][2] == 2.5


def test_too_short_sessions_are_refused():
    with pytest.raises(ValueError, match="no validation steps"):
        evaluate([session("a", [1.0] * 3)])


def test_table_on_the_public_traces(public_data, tmp_path):
    app = typer.Typer()
    register(app)
    app.callback()(lambda: None)
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(app, ["persona", "evaluate", str(public_data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    print(result.output)
    assert "statistical policy" in result.output and "P05" in result.output
    saved = json.loads(out.read_text())
    scores = {(s["group"], s["method"]): s for s in saved["scores"]}
    assert {g for g, _ in scores} == {"c", "P01", "P02", "P03", "P04", "P05", "all"}
    assert {m for _, m in scores} == set(METHODS)
    assert saved["split_sizes"] == {"train": 2188, "validation": 275, "test": 304}
    assert scores[("all", "training_median")]["n"] == 304
    assert all(0 <= s["smape"] <= 200 and s["mae"] >= 0 for s in saved["scores"])
    # k and the blend are chosen on validation, from grids that hold both baselines as special cases
    assert saved["chosen_k"] in saved["config"]["k_grid"]
    assert not (tmp_path / "eval.png").exists()  # plotting lives in reports/ (personaact report)


def test_cli_errors_are_clear(tmp_path):
    app = typer.Typer()
    group = typer.Typer()
    register_policy_commands(group)
    app.add_typer(group, name="persona")
    app.callback()(lambda: None)
    result = CliRunner().invoke(app, ["persona", "evaluate", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no such file" in " ".join(result.output.split())
    result = CliRunner().invoke(app, ["persona", "evaluate", str(tmp_path), "--set", "train_share=0.95"])
    assert result.exit_code == 2 and "test share" in " ".join(result.output.split())
