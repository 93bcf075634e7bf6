"""`personaact train build-dataset|sft|merge` end to end on the tiny model, and their refusals."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from personas.cli_policy import register
from tests.personas.policy.conftest import write_image_traces


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.callback()(lambda: None)
    return app


def test_build_dataset_then_sft_then_merge(tmp_path):
    write_image_traces(tmp_path / "traces", sessions=1, views=12)
    app, runner = _app(), CliRunner()
    ds = tmp_path / "ds"
    built = runner.invoke(app, ["train", "build-dataset", str(tmp_path / "traces"), "--out", str(ds),
                                "--set", "frames=1", "--set", "max_pixels=3136"])
    assert built.exit_code == 0, built.output
    assert "1 zero-duration entries dropped" in " ".join(built.output.split())
    again = runner.invoke(app, ["train", "build-dataset", str(tmp_path / "traces"), "--out", str(ds)])
    assert again.exit_code == 2 and "--overwrite" in " ".join(again.output.split())
    sft = ["train", "sft", "--set", f"dataset={ds}", "--set", f"output_dir={tmp_path / 'sft'}", "--set", "max_steps=2",
           "--set", "save_steps=1", "--set", "lora_r=4", "--set", "max_train_rows=2"]
    trained = runner.invoke(app, sft)
    assert trained.exit_code == 0, trained.output
    assert "SFT: 2 steps" in trained.output
    refused = runner.invoke(app, sft)
    assert refused.exit_code == 2 and "--resume" in " ".join(refused.output.split())
    resumed = runner.invoke(app, [*sft[:7], "max_steps=3", *sft[8:], "--resume"])
    assert resumed.exit_code == 0 and "SFT: 3 steps" in resumed.output, resumed.output  # continued from step 2
    merged = runner.invoke(app, ["train", "merge", str(tmp_path / "sft" / "adapter"), "--out", str(tmp_path / "m")])
    assert merged.exit_code == 0 and (tmp_path / "m" / "config.json").is_file()
    bad = runner.invoke(app, ["train", "sft", "--set", "dataset=", "--set", f"output_dir={tmp_path / 'x'}"])
    assert bad.exit_code == 2 and "dataset" in bad.output
    unknown = runner.invoke(app, ["train", "grpo", "--set", "lora_rank=3"])
    assert unknown.exit_code == 2 and "unknown option 'lora_rank'" in " ".join(unknown.output.split())
