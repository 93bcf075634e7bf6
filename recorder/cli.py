"""`personaact trace ...`: import, show and validate traces."""

from __future__ import annotations

import logging
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from recorder.config import ConfigError, load_config
from recorder.console import console, err_console, progress_bar
from recorder.importers.personaact_raw import SessionFileError, find_session_files, import_sessions
from recorder.store import TraceFormatError, TraceReader, find_trace_folders, traces_to_dataframe

trace_app = typer.Typer(help="Import, inspect and validate traces (the one format for humans, agents and the sandbox).",
                        no_args_is_help=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML file with the command's options.")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", "-s", help="Override an option: KEY=VALUE (repeatable).")]


@dataclass(frozen=True)
class ImportConfig:
    """Options of `trace import`."""

    out: Path = Path("runs/traces")
    utc_offset_h: float = 8.0  # session start/end times are local (China Standard Time in the public data)
    media_root: Path | None = None  # folder holding raw_data/... media, if you have them

    def __post_init__(self) -> None:
        if not -14.0 <= self.utc_offset_h <= 14.0:
            raise ConfigError(f"utc_offset_h must lie in [-14, 14] hours, got {self.utc_offset_h}")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error on stderr and return the Exit to raise; with -v, the traceback of the error being handled too."""
    if sys.exc_info()[0] is not None and logging.getLogger().isEnabledFor(logging.INFO):
        traceback.print_exc()
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@trace_app.command("import")
def import_command(
    paths: Annotated[list[Path], typer.Argument(help="session_*.json files or folders of them (raw_data/<collector>/).")],
    out: Annotated[Path | None, typer.Option(help="Folder to write trace folders into. [default: runs/traces]")] = None,
    utc_offset_h: Annotated[float | None, typer.Option(help="Hours east of UTC of the local times. [default: 8]")] = None,
    media_root: Annotated[Path | None, typer.Option(help="Folder with the original raw_data media (audio, video).")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Import PersonaAct raw_data sessions as traces; bad files are reported, the rest still import."""
    try:
        cfg = load_config(ImportConfig, config, set_ or (), out=out, utc_offset_h=utc_offset_h, media_root=media_root)
        files = find_session_files(paths)
    except (ConfigError, FileNotFoundError, SessionFileError) as err:
        raise fail(str(err))
    with progress_bar(len(files), "importing sessions") as advance:
        report = import_sessions(files, cfg.out, cfg.utc_offset_h, cfg.media_root, progress=advance)
    console.print(f"imported {len(report.written)} traces ({report.steps} videos) into {cfg.out}; "
                  f"{len(report.skipped)} already there; {len(report.failed)} failed")
    for line in report.problems:
        err_console.print(f"[yellow]warning:[/yellow] {line}", highlight=False)
    for line in report.failed:
        err_console.print(f"[red]failed:[/red] {line}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


SHOW_BY = ("trace_id", "collector", "persona_id", "platform")


@trace_app.command("show")
def show_command(
    paths: Annotated[list[Path], typer.Argument(help="Trace folders, or folders containing them.")],
    by: Annotated[str, typer.Option(help="Group rows by trace_id, collector, persona_id or platform.")] = "trace_id",
    steps: Annotated[bool, typer.Option("--steps", help="List every step of a single trace instead.")] = False,
) -> None:
    """Print a summary table of traces (videos, watch time, skip and like rates)."""
    if by not in SHOW_BY:
        raise fail(f"--by {by!r}: choose one of {', '.join(SHOW_BY)}")
    notes: list[str] = []
    try:
        folders = find_trace_folders(paths)
        if steps:
            return _show_steps(folders)
        frame = traces_to_dataframe(folders, notes)
    except TraceFormatError as err:
        raise fail(str(err))
    for note in notes:
        err_console.print(f"[yellow]skipped:[/yellow] {escape(note)}", highlight=False, soft_wrap=True)
    if frame.empty:
        where = ", ".join(map(str, paths))
        hint = "" if folders else f"; raw session_*.json files? import them first: personaact trace import {where}"
        raise fail(f"no readable trace with steps under {where}{hint}")
    from recorder.summary import summarise  # pandas: loaded only when a table is made, so --help stays fast

    console.print(summary_table(summarise(frame, by=by), by))


# Short titles so the table fits an 80-column terminal; the legend below the table spells them out.
COLUMN_TITLES = {"watch_total_min": "min", "watch_mean_s": "mean s", "watch_median_s": "med s",
                 "quick_skip_rate": "skip", "like_rate": "likes", "comments": "cmts"}
LEGEND = "min: total watch minutes; mean/med s: watch seconds per video; skip: share watched < 3 s; likes: like rate"


def summary_table(table: object, by: str) -> Table:
    """Render a summarise() DataFrame as a rich Table."""
    out = Table(title=f"traces by {by}", caption=LEGEND, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    out.add_column(by, style="bold", no_wrap=True)
    for column in table.columns:  # type: ignore[attr-defined]
        out.add_column(COLUMN_TITLES.get(column, column), justify="right")
    # itertuples keeps each column's type (iterrows would turn counts into floats: "939.0")
    for key, row in zip(table.index, table.itertuples(index=False)):  # type: ignore[attr-defined]
        out.add_row(str(key), *(_cell(v, c) for c, v in zip(table.columns, row)))  # type: ignore[attr-defined]
    return out


def _cell(value: object, column: str = "") -> str:
    if column.endswith("_rate") and isinstance(value, float):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1 else f"{value:.1f}"
    return str(value)


def _show_steps(folders: list[Path]) -> None:
    if len(folders) != 1:
        raise fail(f"--steps needs exactly one trace folder, got {len(folders)}")
    reader = TraceReader(folders[0])
    rows = list(reader.steps())
    for problem in reader.problems:
        err_console.print(f"[yellow]skipped:[/yellow] {escape(str(problem))}", highlight=False, soft_wrap=True)
    table = Table(title=f"{reader.header.trace_id} ({reader.header.platform}, {reader.header.started_at:%Y-%m-%d %H:%M})")
    for column in ("#", "appeared (UTC)", "watch s", "actions", "author", "category"):
        table.add_column(column)
    for step in rows:
        table.add_row(str(step.index), f"{step.appeared_at:%H:%M:%S}", f"{step.watch_s:.1f}",
                      ", ".join(a.name for a in step.actions), step.meta.author or "",
                      "/".join(step.category.path) if step.category else "")
    console.print(table)


@trace_app.command("validate")
def validate_command(
    paths: Annotated[list[Path], typer.Argument(help="Trace folders, or folders containing them.")],
) -> None:
    """Check every line of every trace; exit 1 and list the problems if any."""
    total = 0
    try:
        folders = find_trace_folders(paths)
    except TraceFormatError as err:
        raise fail(str(err))
    if not folders:
        where = ", ".join(map(str, paths))
        raise fail(f"no trace folders under {where}; raw session_*.json files? import them first: "
                   f"personaact trace import {where}")
    for folder in folders:
        try:
            problems = TraceReader(folder).validate()
        except TraceFormatError as err:  # one unreadable trace never stops the check of the rest
            problems = [str(err)]
        except OSError as err:
            problems = [f"cannot read: {err}"]
        for problem in problems:
            console.print(f"{folder}: {problem}", highlight=False)
        total += len(problems)
    console.print(f"{len(folders)} traces checked, {total} problems")
    if total or not folders:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this package's subcommands to the root CLI."""
    app.add_typer(trace_app, name="trace")
