"""Sweeps: the grid on Ray equals the serial run to the digit; the CLI writes sweep.json and sweep.csv with CIs."""

import json

import pytest
from typer.testing import CliRunner

from sandbox.config import SandboxConfig
from sandbox.sweep import Grid, SweepError, run_sweep
from tests.sandbox.test_cli import app

BASE = SandboxConfig(users=40, creators=6, steps=3, seed=5)
GRID = Grid(("random", "mf"), "inertia", (0.0, 1.0), 2)


@pytest.mark.slow  # starting Ray takes a while on a busy machine
def test_sweep_on_ray_equals_serial():
    serial = run_sweep(BASE, GRID, None)
    on_ray = run_sweep(BASE, GRID, "local", num_cpus=2)
    assert on_ray == serial
    assert serial["kind"] == "sandbox_sweep" and len(serial["rows"]) == 4
    row = serial["rows"][0]
    assert row["metrics"]["click_rate"]["n"] == 2 and len(row["per_seed"]["click_rate"]) == 2


def test_grid_is_validated_by_name():
    with pytest.raises(SweepError, match="knob"):
        Grid(("mf",), "novelty", (0.5,), 1)
    with pytest.raises(ValueError, match="inertia"):
        Grid(("mf",), "inertia", (1.5,), 1)
    with pytest.raises(ValueError, match="svd"):
        Grid(("svd",), "inertia", (0.5,), 1).configs(BASE)


def test_sweep_cli_writes_json_and_csv(tmp_path):
    result = CliRunner().invoke(app(), ["sandbox", "sweep", "--recommenders", "random", "--knob", "personalisation",
                                        "--levels", "0,1", "--seeds", "2", "--steps", "2", "--users", "30",
                                        "--creators", "5", "--out", str(tmp_path), "--serial"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "sweep.json").read_text())
    assert data["kind"] == "sandbox_sweep" and [r["level"] for r in data["rows"]] == [0.0, 1.0]
    assert (tmp_path / "sweep.csv").read_text().splitlines()[0] == "recommender,knob,level,metric,mean,ci_low,ci_high,n"
