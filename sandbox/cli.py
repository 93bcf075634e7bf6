"""`personaact sandbox run|compare|sweep`: simulate a platform into run folders; tables of means with 95% CIs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from recorder.cli import ConfigOpt, SetOpt, fail
from recorder.config import ConfigError, load_config, parse_override, read_yaml_mapping
from recorder.console import console, progress_bar
from recorder.errors import PersonaActError

sandbox_app = typer.Typer(help="The offline short-video platform: long-term evaluation of recommenders.",
                          no_args_is_help=True)
TABLE_KEYS = ("click_rate", "like_rate", "watch_s_per_user", "creator_retention", "exposed_entropy",
              "created_entropy", "exposure_gini", "js_created_vs_demand", "explore_ratio")
ThreadsOpt = Annotated[int | None, typer.Option(help="Torch threads (1 is fastest on a small shared machine).")]


def set_threads(threads: int | None) -> None:
    """Size torch's intra-op pool (recommender scoring and training run through it)."""
    if threads is not None:
        if threads < 1:
            raise fail(f"--threads must be >= 1, got {threads}")
        import torch

        torch.set_num_threads(threads)


def given_options(config: Path | None, overrides: list[str] | None, **flags: Any) -> dict[str, Any]:
    """Every option the user set: keys of the --config file, --set keys and flags that are not None."""
    given: dict[str, Any] = {}
    if config is not None:
        given.update({k: v for k, v in read_yaml_mapping(config).items()})
    for item in overrides or ():
        key, value = parse_override(item)
        given[key] = value
    given.update({k: v for k, v in flags.items() if v is not None})
    return given


@sandbox_app.command("run")
def run_command(
    config: ConfigOpt = None,
    steps: Annotated[int | None, typer.Option(help="Steps to simulate. [default: 50]")] = None,
    users: Annotated[int | None, typer.Option(help="Statistical users. [default: 1000]")] = None,
    creators: Annotated[int | None, typer.Option(help="Creators. [default: 50]")] = None,
    recommender: Annotated[str | None, typer.Option(help="e.g. mf, pop, din, mf+mmr, mf+fair. [default: mf]")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed. [default: 0]")] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder. [default: runs/sandbox/<recommender>-s<seed>]")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out under its saved config.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the run in --out.")] = False,
    trace_users: Annotated[int, typer.Option(help="Record this many simulated users as Traces in out/traces.")] = 0,
    threads: ThreadsOpt = None,
    set_: SetOpt = None,
) -> None:
    """Simulate one platform; writes config.yaml, checkpoint/, impressions/, metrics.json (and traces/)."""
    from sandbox.config import SandboxConfig
    from sandbox.runs import execute, summarise

    set_threads(threads)
    if resume and overwrite:
        raise fail("--resume and --overwrite: choose one")
    try:
        flags = dict(steps=steps, users=users, creators=creators, recommender=recommender, seed=seed)
        cfg = load_config(SandboxConfig, config, set_ or (), out=out, **flags)
        cfg = cfg if cfg.out else replace(cfg, out=Path("runs/sandbox") / f"{cfg.recommender}-s{cfg.seed}")
        mode = "resume" if resume else "overwrite" if overwrite else "new"
        with progress_bar(cfg.steps, f"{cfg.recommender}: steps") as advance:
            history = execute(cfg, mode, given_options(config, set_, **flags), trace_users, advance)
    except (ConfigError, PersonaActError, ValueError, FileNotFoundError) as err:
        raise fail(str(err))
    console.print(results_table({cfg.recommender: {k: (v, v, v) for k, v in summarise(history).items()}}))
    console.print(f"results in {cfg.out}")


@sandbox_app.command("compare")
def compare_command(
    recommenders: Annotated[str, typer.Option(help="Comma-separated specs.")] = "random,pop,mf,mf+mmr,mf+fair",
    seeds: Annotated[int, typer.Option(help="Seeds per recommender (seed, seed+1, ...); CIs over them.")] = 1,
    config: ConfigOpt = None,
    steps: Annotated[int | None, typer.Option(help="Steps per run. [default: 50]")] = None,
    users: Annotated[int | None, typer.Option(help="Statistical users. [default: 1000]")] = None,
    creators: Annotated[int | None, typer.Option(help="Creators. [default: 50]")] = None,
    seed: Annotated[int | None, typer.Option(help="First random seed. [default: 0]")] = None,
    out: Annotated[Path, typer.Option(help="Results folder; one run folder per recommender and seed.")] = Path(
        "runs/sandbox-compare"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace earlier runs in --out.")] = False,
    threads: ThreadsOpt = None,
    set_: SetOpt = None,
) -> None:
    """Run several recommenders on the same seeded worlds; compare.json/.csv (kind=sandbox_compare) with CIs."""
    from sandbox.config import SandboxConfig
    from sandbox.sweep import compare

    set_threads(threads)
    try:
        base = load_config(SandboxConfig, config, set_ or (), steps=steps, users=users, creators=creators, seed=seed)
        specs = [s.strip() for s in recommenders.split(",") if s.strip()]
        result = compare(base, specs, seeds, out, overwrite)
    except (ConfigError, PersonaActError, ValueError) as err:
        raise fail(str(err))
    console.print(results_table({r["recommender"]: _cells(r["metrics"]) for r in result["rows"]}))
    console.print(f"results in {out} (n = {seeds} seed(s) per recommender; 95% CI in compare.json/.csv)")


@sandbox_app.command("sweep")
def sweep_command(
    recommenders: Annotated[str, typer.Option(help="Comma-separated specs.")] = "random,mf",
    knob: Annotated[str, typer.Option(help="Knob to vary: personalisation, exploration or inertia.")] = "inertia",
    levels: Annotated[str, typer.Option(help="Comma-separated knob levels in [0, 1].")] = "0,0.5,1",
    seeds: Annotated[int, typer.Option(help="Seeds per grid point; CIs over them.")] = 3,
    config: ConfigOpt = None,
    steps: Annotated[int | None, typer.Option(help="Steps per run. [default: 50]")] = None,
    users: Annotated[int | None, typer.Option(help="Statistical users. [default: 1000]")] = None,
    creators: Annotated[int | None, typer.Option(help="Creators. [default: 50]")] = None,
    out: Annotated[Path, typer.Option(help="Folder for sweep.json and sweep.csv.")] = Path("runs/sandbox-sweep"),
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address; default: a local ray.init().")] = None,
    serial: Annotated[bool, typer.Option("--serial", help="Run in this process instead of Ray tasks.")] = False,
    set_: SetOpt = None,
) -> None:
    """Run a grid (recommenders x knob levels x seeds) as Ray tasks; writes sweep.json and sweep.csv."""
    from sandbox.config import SandboxConfig
    from sandbox.sweep import Grid, run_sweep, write_sweep

    try:
        base = load_config(SandboxConfig, config, set_ or (), steps=steps, users=users, creators=creators)
        grid = Grid(tuple(s.strip() for s in recommenders.split(",") if s.strip()), knob,
                    tuple(float(v) for v in levels.split(",") if v.strip()), seeds)
        result = run_sweep(base, grid, None if serial else (ray_address or "local"))
        write_sweep(out, result)
    except (ConfigError, PersonaActError, ValueError) as err:
        raise fail(str(err))
    console.print(results_table({f"{r['recommender']} {knob}={r['level']:g}": _cells(r["metrics"])
                                 for r in result["rows"]}))
    console.print(f"results in {out} (n = {seeds} seed(s) per point; 95% CI in sweep.json/.csv)")


def _cells(metrics: dict[str, dict[str, Any]]) -> dict[str, tuple[float, float, float]]:
    return {k: (v["mean"], v["ci"][0], v["ci"][1]) for k, v in metrics.items()}


# Short column titles so the table fits a terminal; the caption spells them out.
SHORT_TITLES = {"click_rate": "click", "like_rate": "like", "watch_s_per_user": "watch", "creator_retention": "retain",
                "exposed_entropy": "H exp", "created_entropy": "H made", "exposure_gini": "gini",
                "js_created_vs_demand": "JS", "explore_ratio": "expl"}
LEGEND = ("click/like: rates per impression; watch: seconds per user and step; retain: creators still active; H exp/made: "
          "genre entropy of exposed/created items; gini: exposure Gini across creators; JS: created vs demanded "
          "genres; expl: explore share of creator decisions. Second-half means (mean over seeds when several); "
          "retention at the end.")


def results_table(rows: dict[str, dict[str, tuple[float, float, float]]]) -> Table:
    """One row per run or grid point, one column per summary metric (mean; CIs live in the JSON/CSV)."""
    table = Table(title="sandbox results", caption=LEGEND, box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    table.add_column("run", style="bold", no_wrap=True)
    for key in TABLE_KEYS:
        table.add_column(SHORT_TITLES[key], justify="right")
    for name, row in rows.items():
        table.add_row(name, *(f"{row[k][0]:.1f}" if k == "watch_s_per_user" else f"{row[k][0]:.3f}"
                              for k in TABLE_KEYS))
    return table


def register(app: typer.Typer) -> None:
    """Add `sandbox` subcommands to the root CLI."""
    from sandbox.creators.cli import register_creator_commands

    register_creator_commands(sandbox_app)
    app.add_typer(sandbox_app, name="sandbox")
