"""`personaact audit breadth|depth|validate` and `personaact trace categorise`: parse, call audit/, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from recorder.cli import ConfigOpt, SetOpt, fail, trace_app
from recorder.config import ConfigError, load_config
from recorder.console import console, progress_bar

audit_app = typer.Typer(help="Audit a recommender: breadth (diversity vs a control account), depth (BEP), and "
                             "validation against the sandbox's known ground truth.", no_args_is_help=True)

FeedOpt = Annotated[str, typer.Option(help="sandbox | virtual | SERIAL[,SERIAL...] (phones; breadth needs two).",
                                      show_default=True)]
PersonaOpt = Annotated[Path, typer.Option(help="Persona card JSON (from `personaact persona synthesise`).")]
PolicyOpt = Annotated[str, typer.Option(help="statistical | statistical:<model.json> | llm-sim | <adapter folder> | "
                                             "http:<model>@<base_url>.", show_default=True)]
TracesOpt = Annotated[list[Path] | None, typer.Option(help="The persona's own traces (the statistical policy fits on "
                                                            "them).")]
OutOpt = Annotated[Path, typer.Option(help="Audit folder to create (refused when non-empty without --resume).")]
ResumeOpt = Annotated[bool, typer.Option(help="Carry on an interrupted audit in --out.", show_default=True)]
RepeatsOpt = Annotated[int, typer.Option(help="Fresh accounts/seeds; mean and CI across them.", show_default=True)]
SeedOpt = Annotated[int, typer.Option(help="Seed of repeat 0.", show_default=True)]
AppOpt = Annotated[str, typer.Option(help="App profile (virtual and real phones).", show_default=True)]
RayOpt = Annotated[bool, typer.Option(help="Sandbox repeats as Ray tasks.", show_default=True)]


def _run(protocol: str, feed: str, persona: Path, policy: str, traces: list[Path] | None, steps: int | None,
         out: Path, resume: bool, repeats: int, window: int, seed: int, app: str, ray: bool,
         config: Path | None, overrides: list[str] | None) -> None:
    from audit.agents import load_agent
    from audit.categoriser import Categoriser
    from audit.feeds import SandboxWorld, feed_source
    from audit.protocols import AuditRun, AuditSpec

    spec = AuditSpec(protocol, steps or 0, window=window, repeats=repeats, seed=seed, ray=ray)
    world = load_config(SandboxWorld, config, overrides or (), seed=seed)
    source = feed_source(feed, world, app=app)
    agent = load_agent(persona, policy, traces or ())
    categoriser = Categoriser(cache_path=out / "categories.json")
    info: dict[str, Any] = {"name": "platform" if source.kind != "phone" else categoriser.name, "accuracy": None,
                            "n": 0}
    if source.kind == "phone":  # phones show no categories: the categoriser's measured accuracy goes on record
        from audit.categoriser import accuracy_summary, quick_accuracy

        info["accuracy"], info["n"] = accuracy_summary(quick_accuracy(categoriser))
    per_repeat = spec.steps * 2
    with progress_bar(per_repeat * spec.repeats, f"{protocol} audit") as advance:
        run = AuditRun(spec, source, agent, out, resume=resume, categorise=categoriser, categoriser_info=info,
                       progress=advance)
        results = run.run()
    categoriser.save()
    _print_summary(results, out)


def _print_summary(results: dict, out: Path) -> None:
    if "breadth" in results:
        est = results["breadth"]["relative_decline"]
        console.print(f"relative diversity decline (persona - control): {est['mean']:+.3f} "
                      f"[{est['ci'][0]:+.3f}, {est['ci'][1]:+.3f}] (n={est['n']} repeats)")
    if "depth" in results:
        est = results["depth"]["bep"]
        console.print(f"BEP: {est['mean']:.3f} [{est['ci'][0]:.3f}, {est['ci'][1]:.3f}] (n={est['n']})")
    incidents = {k: v for k, v in results["incidents"].items() if v}
    console.print(f"incidents: {incidents or 'none'}")
    console.print(f"results: {out / 'results.json'} and {out / 'results.csv'}")


@audit_app.command("breadth")
def breadth_command(persona: PersonaOpt, out: OutOpt, feed: FeedOpt = "sandbox", policy: PolicyOpt = "statistical",
                    traces: TracesOpt = None,
                    steps: Annotated[int, typer.Option(help="Videos per account.", show_default=True)] = 800,
                    resume: ResumeOpt = False,
                    repeats: RepeatsOpt = 1,
                    window: Annotated[int, typer.Option(help="Videos per diversity window.", show_default=True)] = 50,
                    seed: SeedOpt = 0, app: AppOpt = "douyin", ray: RayOpt = False,
                    config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Breadth: the persona and a control account side by side; diversity per window and its relative decline."""
    try:
        _run("breadth", feed, persona, policy, traces, steps, out, resume, repeats, window, seed, app, ray, config, set_)
    except ConfigError as err:
        raise fail(str(err))


@audit_app.command("depth")
def depth_command(persona: PersonaOpt, out: OutOpt, feed: FeedOpt = "sandbox", policy: PolicyOpt = "statistical",
                  traces: TracesOpt = None,
                  steps: Annotated[int, typer.Option(help="Videos per phase (cultivation, then reversal).",
                                                     show_default=True)] = 400,
                  resume: ResumeOpt = False,
                  repeats: RepeatsOpt = 1, seed: SeedOpt = 0, app: AppOpt = "douyin", ray: RayOpt = False,
                  config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Depth: cultivate the account with the persona, then browse as the reversed persona; BEP and top-10 shift."""
    try:
        _run("depth", feed, persona, policy, traces, steps, out, resume, repeats, 50, seed, app, ray, config, set_)
    except ConfigError as err:
        raise fail(str(err))


@audit_app.command("validate")
def validate_command(out: Annotated[Path, typer.Option(help="Where validation.json goes.", show_default=True)] = Path(
                         "runs/validation"),
                     config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Rank the sandbox's knobs with the audit itself (BEP vs inertia, decline vs personalisation); exit 1 on failure."""
    from audit.validation import ValidationSettings, run_validation

    try:
        settings = load_config(ValidationSettings, config, set_ or ())
    except ConfigError as err:
        raise fail(str(err))
    with progress_bar(settings.total_runs, "validation audits") as advance:
        report = run_validation(settings, out, progress=advance)
    for name in ("depth", "breadth"):
        block = report[name]
        levels = ", ".join(f"{lv['level']}: {lv['mean']:.3f} [{lv['ci'][0]:.3f}, {lv['ci'][1]:.3f}]"
                           for lv in block["levels"])
        console.print(f"{name} ({block['metric']} by {block['knob']}, expect {block['expect']}): {levels}; "
                      f"ranking {'ok' if block['ranking_ok'] else 'WRONG'}, extremes "
                      f"{'disjoint' if block['extremes_disjoint'] else 'overlap'}")
    console.print(f"validation {'passed' if report['passed'] else 'FAILED'}: {out / 'validation.json'}")
    if not report["passed"]:
        raise typer.Exit(1)


def categorise_command(paths: Annotated[list[Path], typer.Argument(help="Trace folders or folders of them.")],
                       model: Annotated[str, typer.Option(help="none (keywords only) | embedded | http:<model>@<url>.",
                                                          show_default=True)] = "none",
                       overwrite: Annotated[bool, typer.Option(help="Redo model/keyword categories too.",
                                                               show_default=True)] = False) -> None:
    """Fill missing categories of traces (source=model or keyword) so phone recordings get categories."""
    from audit.categoriser import Categoriser, chat_for, trace_categorise
    from recorder.store import find_trace_folders

    folders = find_trace_folders(paths)
    categoriser = Categoriser(chat=chat_for(model))
    with progress_bar(len(folders), "categorising traces") as advance:
        counts = trace_categorise(folders, categoriser, overwrite, advance)
    console.print(f"{len(folders)} traces: {counts.get('filled', 0)} steps categorised, "
                  f"{counts.get('kept', 0)} kept, {counts.get('unknown', 0)} left unknown ({categoriser.name})")


def register(app: typer.Typer) -> None:
    """Add `audit` to the root CLI and `categorise` to the `trace` group."""
    trace_app.command("categorise")(categorise_command)
    app.add_typer(audit_app, name="audit")
