"""`personaact demo`: run the pipeline that exists end to end on the public traces and embedded defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recorder.cli import fail, summary_table
from recorder.console import console, progress_bar
from recorder.importers.personaact_raw import find_session_files, import_sessions
from recorder.store import find_trace_folders, traces_to_dataframe
from recorder.summary import overall, summarise

DEFAULT_DATA = Path("../shared/data/personaact_raw")


def demo_command(
    data: Annotated[Path, typer.Option(help="The public PersonaAct raw_data folder (one sub-folder per collector).")] = DEFAULT_DATA,
    out: Annotated[Path, typer.Option(help="Where the demo writes its traces and results.")] = Path("runs/demo"),
) -> None:
    """Import the public traces, analyse them and print a summary (grows as the pipeline grows)."""
    if not data.is_dir():
        raise fail(f"{data}: public traces not found; pass --data pointing at a raw_data folder "
                   "(session_*.json files in one folder per collector)")
    files = find_session_files([data])
    console.rule("[bold]1. import the public PersonaAct traces")
    with progress_bar(len(files), "importing") as advance:
        report = import_sessions(files, out / "traces", progress=advance)
    console.print(f"{len(files)} session files: {len(report.written)} imported, {len(report.skipped)} already "
                  f"imported, {len(report.failed)} failed, {len(report.problems)} warnings")
    steps = traces_to_dataframe(find_trace_folders([out / "traces"]))
    console.rule("[bold]2. behaviour by collector")
    console.print(summary_table(summarise(steps, by="collector"), "collector"))
    everyone = overall(steps)
    console.print(f"all collectors: {int(everyone['videos'])} videos in {int(everyone['traces'])} sessions, "
                  f"median watch {everyone['watch_median_s']:.1f} s, mean {everyone['watch_mean_s']:.1f} s, "
                  f"like rate {everyone['like_rate']:.1%}, quick skips (<3 s) {everyone['quick_skip_rate']:.1%}")


def register(app: typer.Typer) -> None:
    """Add `demo` to the root CLI."""
    app.command("demo")(demo_command)
