"""The sandbox CLI writes a complete results folder and resumes."""

import json

import typer
from typer.testing import CliRunner

from sandbox.cli import register


def app() -> typer.Typer:
    root = typer.Typer()
    root.callback()(lambda: None)
    register(root)
    return root


def test_run_and_compare_write_results(tmp_path):
    runner = CliRunner()
    args = ["sandbox", "run", "--steps", "4", "--users", "80", "--creators", "10", "--recommender", "pop",
            "--out", str(tmp_path / "r"), "--set", "checkpoint_every=2"]
    result = runner.invoke(app(), args)
    assert result.exit_code == 0, result.output
    for name in ("config.yaml", "metrics.json", "checkpoint.pkl", "logs/step-000003.parquet"):
        assert (tmp_path / "r" / name).is_file()
    result = runner.invoke(app(), [*args[:2], "--steps", "6", "--out", str(tmp_path / "r"), "--resume"])
    assert result.exit_code == 0, result.output
    assert len(json.loads((tmp_path / "r" / "metrics.json").read_text())["steps"]) == 6
    result = runner.invoke(app(), ["sandbox", "compare", "--recommenders", "random,pop+mmr", "--steps", "3",
                                   "--users", "60", "--creators", "8", "--out", str(tmp_path / "c"),
                                   "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert set(json.loads((tmp_path / "c" / "compare.json").read_text())) == {"random", "pop+mmr"}


def test_bad_option_is_reported():
    result = CliRunner().invoke(app(), ["sandbox", "run", "--recommender", "svd", "--steps", "1"])
    assert result.exit_code == 2 and "svd" in result.output
