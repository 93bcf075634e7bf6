"""`personaact persona evaluate|analyse`: score the statistical policy and profile behaviour from the terminal."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from personas.analysis import NotEnoughDataError, analyse, load_traces
from personas.evaluation import METHODS, EvaluationConfig, EvaluationResult, evaluate, evaluation_steps
from recorder.cli import ConfigOpt, SetOpt, fail
from recorder.config import ConfigError, load_config
from recorder.console import console, progress_bar
from recorder.files import write_json_atomic
from recorder.store import TraceFormatError
from recorder.trace import Trace

TracesArg = Annotated[list[Path], typer.Argument(help="Trace folders, folders of them, or raw session_*.json folders.")]


def read_traces(paths: list[Path], scratch: Path) -> tuple[list[Trace], list[Path]]:
    """Trace folders under `paths`; raw PersonaAct session files found instead are imported into `scratch` first."""
    from recorder.importers.personaact_raw import find_session_files, import_sessions

    for path in paths:
        if not path.exists():
            raise TraceFormatError(f"{path}: no such file or folder")
    traces, folders = load_traces(paths)
    if traces:
        return traces, folders
    report = import_sessions(find_session_files(paths), scratch)
    if not report.written:
        raise TraceFormatError(f"{', '.join(map(str, paths))}: no trace folders (trace.json) or session_*.json files "
                               "found; run `personaact trace import` first or point at a folder of traces")
    return load_traces([scratch])


def evaluate_command(
    traces: TracesArg,
    out: Annotated[Path | None, typer.Option(help="JSON result file.")] = Path(
        "runs/evaluation/persona_policy.json"),
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """SMAPE and MAE of the statistical policy and two baselines on a session-temporal 80/10/10 split."""
    try:
        cfg = load_config(EvaluationConfig, config, set_ or ())
        with tempfile.TemporaryDirectory(prefix="personaact-eval-") as scratch:
            loaded, _ = read_traces(traces, Path(scratch))
            with progress_bar(evaluation_steps(cfg), "evaluating") as advance:
                result = evaluate(loaded, cfg, progress=advance)
    except (ConfigError, TraceFormatError, NotEnoughDataError, ValueError) as err:
        raise fail(str(err))
    console.print(result_table(result))
    console.print(f"chosen on validation: last-k k={result.chosen_k}; policy {result.chosen_policy}; "
                  f"split sizes {result.split_sizes}")
    if out is not None:
        write_json_atomic(out, {"config": _config_dict(cfg), **result.to_dict()})
        console.print(f"wrote {out}")


def analyse_command(
    traces: TracesArg,
    out: Annotated[Path | None, typer.Option(help="Write the behaviour features as JSON here.")] = None,
) -> None:
    """Profile the behaviour in traces (one person's or one agent's) and print a short summary."""
    try:
        with tempfile.TemporaryDirectory(prefix="personaact-analyse-") as scratch:
            loaded, folders = read_traces(traces, Path(scratch))
            features = analyse(loaded, folders)
    except (TraceFormatError, NotEnoughDataError, ValueError) as err:
        raise fail(str(err))
    console.print(features.summary(), highlight=False)
    if out is not None:
        write_json_atomic(out, features.to_dict())
        console.print(f"wrote {out}")


def result_table(result: EvaluationResult) -> Table:
    """SMAPE (%) and MAE (s) per group and method as a rich table."""
    table = Table(title="watch-time prediction on the test split (last 10% of each session)")
    table.add_column("group", style="bold")
    table.add_column("n", justify="right")
    for method in METHODS:
        table.add_column(f"{method.replace('_', ' ')}\nSMAPE % / MAE s", justify="right")
    groups = list(dict.fromkeys(s.group for s in result.scores))
    for group in groups:
        cells = [result.score(group, m) for m in METHODS]
        table.add_row(group, str(cells[0].n), *(f"{c.smape:.1f} / {c.mae:.2f}" for c in cells))
    return table


def _config_dict(cfg: EvaluationConfig) -> dict[str, object]:
    return json.loads(json.dumps(cfg.__dict__, default=list))


def register_policy_commands(persona_app: typer.Typer) -> None:
    """Add `evaluate` and `analyse` to an existing `persona` command group."""
    persona_app.command("evaluate")(evaluate_command)
    persona_app.command("analyse")(analyse_command)


def register(app: typer.Typer) -> None:
    """Add a `persona` group holding only these commands (use when personas.cli does not provide the group)."""
    persona_app = typer.Typer(help="Persona behaviour analysis and policy evaluation.", no_args_is_help=True)
    register_policy_commands(persona_app)
    app.add_typer(persona_app, name="persona")
