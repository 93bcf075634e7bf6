"""`personaact report`: writes the HTML and the numbers beside it; a missing path is one clear error."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from reports.cli import register


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.callback()(lambda: None)
    return app


def test_report_command_writes_html_and_numbers(results, tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.html"
    result = CliRunner().invoke(_app(), ["report", str(results["breadth"]), str(results["depth"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.with_suffix(".numbers.csv").is_file() and out.with_suffix(".numbers.json").is_file()
    assert "report.numbers.csv" in result.output.replace("\n", "")
    assert 'id="comparison"' in out.read_text()
    again = CliRunner().invoke(_app(), ["report", str(results["breadth"]), "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["report", str(tmp_path / "nope"), "--out", str(tmp_path / "x.html")])
    assert result.exit_code == 2 and "no such file or folder" in result.output
