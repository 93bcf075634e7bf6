"""`personaact sandbox train-creator`: GRPO fine-tuning of the creators' fast thinker (registered on the sandbox app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recorder.config import ConfigError, load_config
from recorder.console import console, err_console, progress_bar


def register_creator_commands(app: typer.Typer) -> None:
    """Add the creator commands to the `sandbox` Typer app."""
    app.command("train-creator")(train_creator_command)


def train_creator_command(
    model: Annotated[str | None, typer.Option(help="Local model folder to fine-tune, or 'tiny' (a random model "
                                                      "built in code, for tests). [default: tiny]")] = None,
    steps: Annotated[int | None, typer.Option(help="GRPO optimisation steps. [default: 20]")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (adapter, checkpoints, result.json). "
                                                     "[default: runs/creator-grpo]")] = None,
    users: Annotated[int | None, typer.Option(help="Simulated users that score each item. [default: 500]")] = None,
    creators: Annotated[int | None, typer.Option(help="Creators whose prompts are trained on. [default: 8]")] = None,
    run: Annotated[Path | None, typer.Option(help="A sandbox run folder (with checkpoint.pkl) whose current world "
                                                     "scores the items. [default: a fresh warm-up world]")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda. [default: auto]")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the world and the trainer. [default: 0]")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the latest checkpoint in --out.")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML file with the options.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", "-s", help="Override an option: KEY=VALUE.")] = None,
) -> None:
    """Fine-tune the creator fast thinker with GRPO + LoRA; reward = simulated exposure + weighted clicks."""
    from sandbox.creators.grpo import TrainCreatorConfig, train_creator

    try:
        cfg = load_config(TrainCreatorConfig, config, set_ or (), model=model, steps=steps, out=out, users=users,
                          creators=creators, run=run, device=device, seed=seed)
    except ConfigError as err:
        err_console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2)
    try:
        with progress_bar(cfg.steps, f"GRPO on {cfg.model}") as advance:
            result = train_creator(cfg, progress=advance, resume=resume)
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        err_console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2)
    first, last = (result.rewards[0], result.rewards[-1]) if result.rewards else (float("nan"), float("nan"))
    console.print(f"trained {result.steps} step(s); mean reward {first:.3f} -> {last:.3f}; "
                  f"LoRA change {result.lora_change:.4g}; adapter in {result.adapter}")
