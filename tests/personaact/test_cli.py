"""The `personaact` command: help, version, trace import/show/validate, demo."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from personaact.cli import app

runner = CliRunner()


def test_help_lists_subcommands_and_each_has_help():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("trace", "demo"):
        assert name in result.output
    for args in (["trace", "--help"], ["trace", "import", "--help"], ["trace", "show", "--help"],
                 ["trace", "validate", "--help"], ["demo", "--help"]):
        sub = runner.invoke(app, args)
        assert sub.exit_code == 0, args
        assert "Usage" in sub.output


def test_version_flag_via_console_script():
    out = subprocess.run([sys.executable, "-m", "personaact", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("personaact ")


def test_import_show_validate(public_data, tmp_path):
    result = runner.invoke(app, ["trace", "import", str(public_data / "P02"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "imported 4 traces (389 videos)" in result.output
    shown = runner.invoke(app, ["trace", "show", str(tmp_path), "--by", "collector"])
    assert shown.exit_code == 0 and "P02" in shown.output and "389" in shown.output
    steps = runner.invoke(app, ["trace", "show", str(tmp_path / "P02" / "20260315_234012"), "--steps"])
    assert steps.exit_code == 0 and "41" in steps.output
    assert runner.invoke(app, ["trace", "validate", str(tmp_path)]).exit_code == 0
    with (tmp_path / "P02" / "20260315_234012" / "steps.jsonl").open("a") as handle:
        handle.write("{oops\n")
    bad = runner.invoke(app, ["trace", "validate", str(tmp_path)])
    assert bad.exit_code == 1 and "line 43" in bad.output


def test_import_config_file_and_errors(public_data, tmp_path):
    cfg = tmp_path / "import.yaml"
    cfg.write_text(json.dumps({"out": str(tmp_path / "fromcfg"), "utc_offset_h": 8}))
    ok = runner.invoke(app, ["trace", "import", str(public_data / "P02"), "-c", str(cfg)])
    assert ok.exit_code == 0 and (tmp_path / "fromcfg" / "P02").is_dir()
    bad = runner.invoke(app, ["trace", "import", str(public_data / "P02"), "-s", "utc_offset_h=99"])
    assert bad.exit_code == 2 and "utc_offset_h" in bad.output
    missing = runner.invoke(app, ["trace", "import", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "nope" in missing.output


def test_demo_explains_missing_data(tmp_path):
    result = runner.invoke(app, ["demo", "--data", str(tmp_path / "none")])
    assert result.exit_code == 2 and "--data" in result.output
