"""Run folders that cannot lie: refusal, resume under the saved config (moved folders too), contradictions named,
corrupt checkpoints named, bad options rejected before anything runs; compare with CIs."""

import json
import shutil

import typer
from typer.testing import CliRunner

from sandbox.cli import register
from sandbox.storage import read_logs


def app() -> typer.Typer:
    root = typer.Typer()
    root.callback()(lambda: None)
    register(root)
    return root


def run(*args: str):
    return CliRunner().invoke(app(), ["sandbox", *args])


BASE = ("run", "--steps", "4", "--users", "60", "--creators", "8", "--recommender", "pop", "--seed", "7",
        "--set", "checkpoint_every=2")


def test_run_resume_moved_folder_and_refusals(tmp_path):
    first = tmp_path / "r"
    result = run(*BASE, "--out", str(first), "--trace-users", "2")
    assert result.exit_code == 0, result.output
    for name in ("config.yaml", "metrics.json", "checkpoint/state.json", "checkpoint/arrays.npz",
                 "impressions/part-000000.parquet", "traces"):
        assert (first / name).exists(), name
    assert "out:" not in (first / "config.yaml").read_text()  # nothing in a run points outside it
    metrics = json.loads((first / "metrics.json").read_text())
    assert metrics["kind"] == "sandbox_run" and len(metrics["steps"]) == 4
    again = run(*BASE, "--out", str(first))
    assert again.exit_code == 2 and "--resume" in again.output and "--overwrite" in again.output
    moved = tmp_path / "moved"
    shutil.move(first, moved)
    result = run("run", "--out", str(moved), "--resume", "--steps", "6")  # no flags repeated: the saved config
    assert result.exit_code == 0, result.output
    metrics = json.loads((moved / "metrics.json").read_text())
    assert metrics["recommender"] == "pop" and metrics["seed"] == 7 and len(metrics["steps"]) == 6
    assert sorted(read_logs(moved)["step"].unique()) == list(range(6)) and not first.exists()
    clash = run("run", "--out", str(moved), "--resume", "--seed", "3", "--recommender", "mf")
    assert clash.exit_code == 2 and "seed=3" in clash.output and "seed=7" in clash.output
    assert run(*BASE, "--out", str(moved), "--overwrite").exit_code == 0
    assert len(json.loads((moved / "metrics.json").read_text())["steps"]) == 4


def test_resume_equals_uninterrupted_through_the_cli(tmp_path):
    assert run(*BASE, "--steps", "6", "--out", str(tmp_path / "whole")).exit_code == 0
    assert run(*BASE, "--out", str(tmp_path / "cut")).exit_code == 0
    assert run("run", "--out", str(tmp_path / "cut"), "--resume", "--steps", "6").exit_code == 0
    whole, cut = (json.loads((tmp_path / n / "metrics.json").read_text())["steps"] for n in ("whole", "cut"))
    assert whole == cut
    assert read_logs(tmp_path / "whole").equals(read_logs(tmp_path / "cut"))


def test_corrupt_checkpoint_is_named(tmp_path):
    assert run(*BASE, "--out", str(tmp_path / "r")).exit_code == 0
    arrays = tmp_path / "r" / "checkpoint" / "arrays.npz"
    arrays.write_bytes(arrays.read_bytes()[:100])
    result = run("run", "--out", str(tmp_path / "r"), "--resume", "--steps", "6")
    assert result.exit_code == 2 and "arrays.npz" in result.output and "Traceback" not in result.output
    state = tmp_path / "r" / "checkpoint" / "state.json"
    state.write_text(state.read_text()[:50])
    result = run("run", "--out", str(tmp_path / "r"), "--resume", "--steps", "6")
    assert result.exit_code == 2 and "state.json" in result.output


def test_bad_options_are_rejected_before_anything_runs(tmp_path):
    for args, key in ((("--users", "0"), "users"), (("--recommender", "svd"), "svd"),
                      (("--set", "creator_policy=os:system"), "creator_policy"),
                      (("--set", "creator_policy=nosuchmodule:X"), "creator_policy"),
                      (("--set", "inertia=2"), "inertia")):
        out = tmp_path / key
        result = run("run", "--steps", "1", "--out", str(out), *args)
        assert result.exit_code == 2 and key in result.output, (args, result.output)
        assert not (out / "config.yaml").exists()


def test_compare_reports_confidence_intervals(tmp_path):
    result = run("compare", "--recommenders", "random,pop", "--seeds", "2", "--steps", "3", "--users", "50",
                 "--creators", "8", "--out", str(tmp_path / "c"), "--threads", "1")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert data["kind"] == "sandbox_compare" and [r["recommender"] for r in data["rows"]] == ["random", "pop"]
    click = data["rows"][0]["metrics"]["click_rate"]
    assert click["n"] == 2 and click["ci"][0] <= click["mean"] <= click["ci"][1]
    assert (tmp_path / "c" / "compare.csv").read_text().startswith("recommender,metric,mean,ci_low,ci_high,n")
