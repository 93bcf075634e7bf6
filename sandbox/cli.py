"""`personaact sandbox run|compare`: simulate a platform, write logs and metrics to a results folder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml
from rich import box
from rich.table import Table

from recorder.cli import ConfigOpt, SetOpt, fail
from recorder.config import ConfigError, load_config, to_mapping
from recorder.console import console, progress_bar
from recorder.files import write_json_atomic

if TYPE_CHECKING:  # the platform pulls in torch and pandas: imported inside the commands so --help stays fast
    from sandbox.config import SandboxConfig

sandbox_app = typer.Typer(help="The offline short-video platform: long-term evaluation of recommenders.",
                          no_args_is_help=True)
SUMMARY_KEYS = ("click_rate", "like_rate", "watch_s_per_user", "creator_retention", "exposed_entropy",
                "created_entropy", "exposure_gini", "js_created_vs_demand", "explore_ratio")


def summarise(history: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over the second half of the run (after warm-up); retention at the end."""
    import numpy as np

    late = history[len(history) // 2:]
    out = {k: float(np.mean([h[k] for h in late])) for k in SUMMARY_KEYS}
    out["creator_retention"] = history[-1]["creator_retention"]
    return out


def execute(cfg: SandboxConfig, resume: bool, label: str) -> list[dict[str, float]]:
    """Run (or resume) one simulation into cfg.out and write config copy and metrics JSON (plots: `personaact report`)."""
    from sandbox.platform import Platform

    out = Path(cfg.out)  # type: ignore[arg-type]
    platform = Platform.resume(out, steps=cfg.steps) if resume else Platform(cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(json.loads(json.dumps(to_mapping(cfg), default=str))))
    with progress_bar(cfg.steps, f"{label}: steps") as advance:
        advance(platform.step)
        history = platform.run(progress=advance)
    platform.checkpoint()
    write_json_atomic(out / "metrics.json", {"recommender": cfg.recommender, "seed": cfg.seed,
                                             "summary": summarise(history), "steps": history})
    return history


ThreadsOpt = Annotated[int | None, typer.Option(help="Torch threads (1 is fastest on a small shared machine).")]


def set_threads(threads: int | None) -> None:
    """Size torch's intra-op pool (recommender scoring and training run through it)."""
    if threads is not None:
        if threads < 1:
            raise fail(f"--threads must be >= 1, got {threads}")
        import torch

        torch.set_num_threads(threads)


@sandbox_app.command("run")
def run_command(
    config: ConfigOpt = None,
    steps: Annotated[int | None, typer.Option(help="Steps to simulate.")] = None,
    users: Annotated[int | None, typer.Option(help="Statistical users.")] = None,
    creators: Annotated[int | None, typer.Option(help="Creators.")] = None,
    recommender: Annotated[str | None, typer.Option(help="e.g. mf, pop, din, mf+mmr, mf+fair, mf+inertia.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    out: Annotated[Path | None, typer.Option(help="Results folder. [default: runs/sandbox/<recommender>-s<seed>]")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from out/checkpoint.pkl.")] = False,
    threads: ThreadsOpt = None,
    set_: SetOpt = None,
) -> None:
    """Simulate one platform; writes config.yaml, logs/*.parquet, metrics.json, checkpoint.pkl."""
    from sandbox.config import SandboxConfig

    set_threads(threads)
    try:
        cfg = load_config(SandboxConfig, config, set_ or (), steps=steps, users=users, creators=creators,
                          recommender=recommender, seed=seed, out=out)
        cfg = cfg if cfg.out else replace(cfg, out=Path("runs/sandbox") / f"{cfg.recommender}-s{cfg.seed}")
        history = execute(cfg, resume, cfg.recommender)
    except (ConfigError, ValueError, FileNotFoundError) as err:
        raise fail(str(err))
    console.print(results_table({cfg.recommender: summarise(history)}))
    console.print(f"results in {cfg.out}; plots: personaact report {cfg.out} --out {Path(str(cfg.out)) / 'report.html'}")


@sandbox_app.command("compare")
def compare_command(
    recommenders: Annotated[str, typer.Option(help="Comma-separated specs.")] = "random,pop,mf,mf+mmr,mf+fair",
    config: ConfigOpt = None,
    steps: Annotated[int | None, typer.Option(help="Steps per run.")] = None,
    users: Annotated[int | None, typer.Option(help="Statistical users.")] = None,
    creators: Annotated[int | None, typer.Option(help="Creators.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (the same for every run).")] = None,
    out: Annotated[Path, typer.Option(help="Results folder; one subfolder per recommender.")] = Path("runs/sandbox-compare"),
    threads: ThreadsOpt = None,
    set_: SetOpt = None,
) -> None:
    """Run several recommenders on the same seeded world and print one table (plus compare.json)."""
    from sandbox.config import SandboxConfig

    set_threads(threads)
    histories: dict[str, list[dict[str, float]]] = {}
    try:
        base = load_config(SandboxConfig, config, set_ or (), steps=steps, users=users, creators=creators, seed=seed)
        for spec in [s.strip() for s in recommenders.split(",") if s.strip()]:
            cfg = replace(base, recommender=spec, out=out / spec.replace("+", "_"))
            histories[spec] = execute(cfg, False, spec)
    except (ConfigError, ValueError) as err:
        raise fail(str(err))
    summaries = {name: summarise(h) for name, h in histories.items()}
    write_json_atomic(out / "compare.json", summaries)
    console.print(results_table(summaries))
    console.print(f"results in {out}; plots: personaact report {out} --out {out / 'report.html'}")


# Short column titles so the table fits an 80-column terminal; the caption spells them out.
SHORT_TITLES = {"click_rate": "click", "like_rate": "like", "watch_s_per_user": "watch", "creator_retention": "retain",
                "exposed_entropy": "H exp", "created_entropy": "H made", "exposure_gini": "gini",
                "js_created_vs_demand": "JS", "explore_ratio": "expl"}
LEGEND = ("click/like: rates per impression; watch: seconds per user and step; retain: creators still active; H exp/made: "
          "genre entropy of exposed/created items; gini: exposure Gini across creators; JS: created vs demanded "
          "genres; expl: explore share of creator decisions. Second-half means; retention at the end.")


def results_table(summaries: dict[str, dict[str, float]]) -> Table:
    """One row per recommender, one column per summary metric."""
    table = Table(title="sandbox results", caption=LEGEND, box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    table.add_column("recommender", style="bold", no_wrap=True)
    for key in SUMMARY_KEYS:
        table.add_column(SHORT_TITLES[key], justify="right")
    for name, row in summaries.items():
        table.add_row(name, *(f"{row[k]:.1f}" if k == "watch_s_per_user" else f"{row[k]:.3f}" for k in SUMMARY_KEYS))
    return table


def register(app: typer.Typer) -> None:
    """Add `sandbox` subcommands to the root CLI."""
    from sandbox.creators.cli import register_creator_commands

    register_creator_commands(sandbox_app)
    app.add_typer(sandbox_app, name="sandbox")
