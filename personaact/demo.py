"""`personaact demo`: run the pipeline that exists end to end on the public traces and embedded defaults."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from recorder.cli import fail, summary_table
from recorder.console import console, progress_bar
from recorder.importers.personaact_raw import PUBLIC_SAMPLE_DATA, find_session_files, import_sessions
from recorder.store import find_trace_folders, traces_to_dataframe
from recorder.summary import overall, summarise

DEFAULT_DATA = PUBLIC_SAMPLE_DATA
DEMO_PERSON = "P01"
DEMO_RECOMMENDERS = ("random", "pop", "mf", "mf+mmr", "mf+fair")


def demo_command(
    data: Annotated[Path, typer.Option(help="The public PersonaAct raw_data folder (one sub-folder per collector).")] = DEFAULT_DATA,
    out: Annotated[Path, typer.Option(help="Where the demo writes its traces and results.")] = Path("runs/demo"),
    interview: Annotated[bool, typer.Option(help="Interview a simulated person with the embedded chat model.")] = True,
    sandbox_steps: Annotated[int, typer.Option(help="Steps of the sandbox recommender comparison (0 skips it).")] = 30,
) -> None:
    """Import the public traces, profile a person, evaluate the persona policy, compare recommenders, interview."""
    if not data.is_dir():
        raise fail(f"{data}: public traces not found; pass --data pointing at a raw_data folder "
                   "(session_*.json files in one folder per collector)")
    traces_dir = import_stage(data, out)
    persona_stage(traces_dir)
    if sandbox_steps > 0:
        sandbox_stage(out, sandbox_steps)
    if interview:
        interview_stage(traces_dir, out)


def import_stage(data: Path, out: Path) -> Path:
    """Import every public session and print the behaviour of each collector."""
    files = find_session_files([data])
    console.rule("[bold]1. import the public PersonaAct traces")
    with progress_bar(len(files), "importing") as advance:
        report = import_sessions(files, out / "traces", progress=advance)
    console.print(f"{len(files)} session files: {len(report.written)} imported, {len(report.skipped)} already "
                  f"imported, {len(report.failed)} failed, {len(report.problems)} warnings")
    steps = traces_to_dataframe(find_trace_folders([out / "traces"]))
    console.print(summary_table(summarise(steps, by="collector"), "collector"))
    everyone = overall(steps)
    console.print(f"all collectors: {int(everyone['videos'])} videos in {int(everyone['traces'])} sessions with "
                  f"videos, median watch {everyone['watch_median_s']:.1f} s, mean {everyone['watch_mean_s']:.1f} s, "
                  f"like rate {everyone['like_rate']:.1%}, quick skips (<3 s) {everyone['quick_skip_rate']:.1%}")
    return out / "traces"


def persona_stage(traces_dir: Path) -> None:
    """Profile one person's behaviour and score the statistical persona policy on every collector."""
    from personas.analysis import analyse, load_traces
    from personas.cli_policy import result_table
    from personas.evaluation import evaluate

    every, folders = load_traces([traces_dir])  # read once, used by both stages
    person = [i for i, trace in enumerate(every) if trace.header.collector == DEMO_PERSON]
    console.rule(f"[bold]2. behaviour profile of collector {DEMO_PERSON}")
    console.print(analyse([every[i] for i in person], [folders[i] for i in person]).summary(), highlight=False)
    console.rule("[bold]3. statistical persona policy vs baselines (test split, watch time)")
    console.print(result_table(evaluate([t for t in every if len(t)])))


def sandbox_stage(out: Path, steps: int) -> None:
    """Compare recommenders on a small seeded sandbox world."""
    from recorder.config import load_config
    from sandbox.cli import execute, results_table
    from sandbox.cli import summarise as summarise_run
    from sandbox.config import SandboxConfig

    console.rule(f"[bold]4. sandbox: {len(DEMO_RECOMMENDERS)} recommenders, {steps} steps, same seed")
    base = load_config(SandboxConfig, None, (), steps=steps, users=600, creators=40, seed=0)
    summaries = {}
    for spec in DEMO_RECOMMENDERS:
        cfg = replace(base, recommender=spec, out=out / "sandbox" / spec.replace("+", "_"))
        summaries[spec] = summarise_run(execute(cfg, False, spec))
    console.print(results_table(summaries))


def interview_stage(traces_dir: Path, out: Path) -> None:
    """A short interview of a simulated person with the embedded chat model, ending in a persona card."""
    from personas.cli import demo_command as interview_demo

    console.rule("[bold]5. interview a simulated person (embedded chat model) and synthesise a persona")
    interview_demo(traces=[traces_dir / DEMO_PERSON], data=traces_dir, hidden=None, out=out, sections=3,
                   config=None, set_=None)


def register(app: typer.Typer) -> None:
    """Add `demo` to the root CLI."""
    app.command("demo")(demo_command)
