"""`personaact report PATH... --out FILE.html`: one self-contained HTML report from result folders or files."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from recorder.cli import fail
from recorder.console import console


def report_command(
    paths: Annotated[list[Path], typer.Argument(help="Result folders or files (audit folders, validation.json, "
                                                     "evaluation.json, sandbox run/compare/sweep folders). Several "
                                                     "audits make a comparison.")],
    out: Annotated[Path, typer.Option(help="The HTML file to write; <name>.numbers.csv/.json go beside it.")] = Path(
        "runs/report.html"),
    title: Annotated[str | None, typer.Option(help="Report title. [default: from the kinds of results read]")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing report file.")] = False,
) -> None:
    """Render audits, comparisons, validation, sandbox runs and policy evaluations into one HTML file."""
    from reports.model import ReportError
    from reports.render import build_report, write_report

    command = shlex.join(["personaact", "report", *map(str, paths), "--out", str(out),
                          *(["--title", title] if title else []), *(["--overwrite"] if overwrite else [])])
    try:
        written = write_report(build_report(paths, title, command), out, overwrite)
    except ReportError as err:
        raise fail(str(err))
    console.print(f"wrote {written.html} ({len(written.sections)} sections)")
    console.print(f"every number shown: {written.numbers_csv} and {written.numbers_json}")


def register(app: typer.Typer) -> None:
    """Add `report` to the root CLI."""
    app.command("report")(report_command)
