"""`personaact train build-dataset|sft|grpo|merge`, `personaact evaluate` and `persona analyse`: parse, call, print."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from recorder.cli import ConfigOpt, SetOpt, fail
from recorder.console import console, progress_bar
from recorder.errors import PersonaActError
from recorder.trace import Trace

if TYPE_CHECKING:
    from personas.evaluation import EvaluationResult

TracesArg = Annotated[list[Path], typer.Argument(help="Trace folders, folders of them, or raw session_*.json folders.")]
CardOpt = Annotated[list[str] | None, typer.Option(
    "--persona-card", help="PERSONA=FILE: a persona JSON (interview) or a text/Markdown card (repeatable). "
                           "Personas without one get a card from their training behaviour. [default: none]")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue from the run's latest checkpoint.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace the output of an earlier run.")]
DEFAULT_EVAL_METHODS = ("training_median,last10_median,last_k_median,statistical,statistical_tuned,statistical_sampled,"
                        "llm-sim")

train_app = typer.Typer(help="Build the policy dataset and train the persona policy (SFT, then GRPO).",
                        no_args_is_help=True)


def read_traces(paths: list[Path], scratch: Path) -> tuple[list[Trace], list[Path]]:
    """Trace folders under `paths`; raw PersonaAct session files found instead are imported into `scratch` first."""
    from personas.analysis import load_traces
    from recorder.importers.personaact_raw import find_session_files, import_sessions
    from recorder.store import TraceFormatError

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


def read_cards(items: list[str] | None) -> dict[str, Any]:
    """PERSONA=FILE options as {persona: Persona or card text}."""
    from personas.persona import load_persona

    cards: dict[str, Any] = {}
    for item in items or ():
        persona, sep, file = item.partition("=")
        path = Path(file)
        if not sep or not persona or not path.is_file():
            raise fail(f"--persona-card {item!r}: write PERSONA=FILE with an existing file")
        cards[persona] = load_persona(path) if path.suffix == ".json" else path.read_text(encoding="utf-8")
    return cards


@train_app.command("build-dataset")
def build_dataset_command(
    traces: TracesArg,
    out: Annotated[Path, typer.Option(help="Dataset folder (Arrow files + personaact_dataset.json).")] = Path(
        "runs/policy-dataset"),
    persona_card: CardOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Session-temporal 80/10/10 split of the traces into a Hugging Face dataset with prompts, replies and frames."""
    from personas.policy.dataset import DatasetConfig, build_dataset
    from recorder.config import load_config

    try:
        cfg = load_config(DatasetConfig, config, set_ or ())
        cards = {p: _card_text(c) for p, c in read_cards(persona_card).items()}
        with tempfile.TemporaryDirectory(prefix="personaact-dataset-") as scratch:
            loaded, folders = read_traces(traces, Path(scratch))
            with progress_bar(sum(len(t) for t in loaded), "building dataset") as advance:
                manifest = build_dataset(loaded, folders, out, cards, cfg, overwrite, progress=advance)
    except PersonaActError as err:
        raise fail(str(err))
    console.print(f"wrote {out}: {manifest['sizes']} views ({manifest['with_images']} with frames), "
                  f"{manifest['dropped_zero_duration']} zero-duration entries dropped, "
                  f"{manifest['sessions_without_test']} of {manifest['sessions']} sessions too short for a test view")


@train_app.command("sft")
def sft_command(config: ConfigOpt = None, set_: SetOpt = None, resume: ResumeOpt = False) -> None:
    """Supervised fine-tuning (LoRA on the language model). Defaults: personas/policy/configs/sft.yaml."""
    from personas.policy.training import CONFIG_DIR, PersonaSFTConfig, train_sft

    _train(PersonaSFTConfig, config or CONFIG_DIR / "sft.yaml", set_, resume, train_sft, "SFT")


@train_app.command("grpo")
def grpo_command(config: ConfigOpt = None, set_: SetOpt = None, resume: ResumeOpt = False) -> None:
    """GRPO (new LoRA on the merged SFT model; action, duration and format rewards). Defaults: configs/grpo.yaml."""
    from personas.policy.training import CONFIG_DIR, PersonaGRPOConfig, train_grpo

    _train(PersonaGRPOConfig, config or CONFIG_DIR / "grpo.yaml", set_, resume, train_grpo, "GRPO")


@train_app.command("merge")
def merge_command(
    adapter: Annotated[Path, typer.Argument(help="A LoRA adapter folder (…/adapter).")],
    out: Annotated[Path, typer.Option(help="Folder for the merged full model.")] = Path("runs/policy-merged"),
) -> None:
    """Fold a LoRA adapter into its base model (for vLLM without LoRA, or as the GRPO starting point)."""
    from personas.policy.training import merge_adapter

    try:
        console.print(f"wrote {merge_adapter(adapter, out)}")
    except PersonaActError as err:
        raise fail(str(err))


def _train(cls: Any, config: Path, set_: list[str] | None, resume: bool, run: Any, name: str) -> None:
    from recorder.config import load_config

    try:
        cfg = load_config(cls, config, set_ or ())
        with progress_bar(cfg.max_steps if cfg.max_steps > 0 else None, name) as advance:
            result = run(cfg, resume=resume, progress=advance)
    except PersonaActError as err:
        raise fail(str(err))
    console.print(f"{name}: {result.steps} steps, {result.samples_per_s:.2f} samples/s, LoRA change "
                  f"{result.lora_change:.4g}; adapter in {result.adapter}")


def evaluate_command(
    dataset: Annotated[list[Path], typer.Option(
        "--dataset", help="Traces to evaluate on (trace folders or raw session_*.json folders; repeatable); "
                          "split exactly as `train build-dataset` splits them.")] = [Path("data/personaact_raw")],  # noqa: B006
    methods: Annotated[str, typer.Option(help="Comma-separated methods: training_median, last10_median, "
                                              "last_k_median, statistical, statistical_tuned, statistical_sampled, llm-sim, "
                                              "llm-sim-no-persona, an adapter folder (#no-persona for the "
                                              "ablation), http:<model>@<base_url>.")] = DEFAULT_EVAL_METHODS,
    out: Annotated[Path, typer.Option(help="Folder for evaluation.json.")] = Path("runs/evaluation"),
    persona_card: CardOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Watch-time SMAPE/MAE, action F1 and format failures per persona and method, with 95% CIs; evaluation.json."""
    from personas.evaluation import EvaluationConfig, evaluate, write_evaluation
    from recorder.config import load_config

    specs = [m.strip() for m in methods.split(",") if m.strip()]
    try:
        cfg = load_config(EvaluationConfig, config, set_ or ())
        if (out / "evaluation.json").exists() and not overwrite:
            raise fail(f"{out / 'evaluation.json'}: exists from an earlier run; pass --overwrite or pick another --out")
        with tempfile.TemporaryDirectory(prefix="personaact-eval-") as scratch:
            loaded, folders = read_traces(dataset, Path(scratch))
            keep = [i for i, t in enumerate(loaded) if len(t)]
            with progress_bar(len(specs), "evaluating") as advance:
                result = evaluate([loaded[i] for i in keep], cfg, specs, read_cards(persona_card),
                                  progress=advance, folders=[folders[i] for i in keep])
        path = write_evaluation(result, out, overwrite)
    except PersonaActError as err:
        raise fail(str(err))
    console.print(table2(result))
    console.print(table3(result))
    console.print(f"split {result.split['sizes']} views; model methods on a {cfg.llm_max_views}-view stratified "
                  f"subsample; wrote {path}")


def analyse_command(
    traces: TracesArg,
    out: Annotated[Path | None, typer.Option(help="Write the behaviour features as JSON here. [default: none]")] = None,
) -> None:
    """Profile the behaviour in traces (one person's or one agent's) and print a short summary."""
    from personas.analysis import analyse
    from recorder.files import write_json_atomic

    try:
        with tempfile.TemporaryDirectory(prefix="personaact-analyse-") as scratch:
            loaded, folders = read_traces(traces, Path(scratch))
            features = analyse(loaded, folders)
    except (PersonaActError, ValueError) as err:
        raise fail(str(err))
    console.print(features.summary(), highlight=False)
    if out is not None:
        write_json_atomic(out, features.to_dict())
        console.print(f"wrote {out}")


def _cell(estimate: dict[str, Any], digits: int = 3) -> str:
    low, high = estimate["ci"]
    return f"{estimate['mean']:.{digits}f} [{low:.{digits - 1}f}, {high:.{digits - 1}f}]"


def table2(result: EvaluationResult) -> Table:
    """Per persona (rows) and method (columns): SMAPE and action F1 with 95% CIs, n (paper Table 2's shape)."""
    methods = [m["name"] for m in result.methods]
    rows = result.rows()
    table = Table(title="Test split: SMAPE (fraction, lower is better) / action F1, mean [95% CI]; n views")
    table.add_column("persona", style="bold")
    for method in methods:
        table.add_column(_label(result, method), justify="right")
    for persona in dict.fromkeys(r["persona"] for r in rows):
        cells = []
        for method in methods:
            row = next((r for r in rows if r["persona"] == persona and r["method"] == method), None)
            cells.append("" if row is None else f"{_cell(row['smape'])}\n{_cell(row['action_f1'])}\nn={row['n']}")
        table.add_row(persona, *cells)
    return table


def table3(result: EvaluationResult) -> Table:
    """Pooled rows per method (the paper's Table 3 ablation shape): SMAPE, MAE, action F1, format failures."""
    table = Table(title="Pooled over personas (ablations: Ours / -Persona / -Tuning = LLM-Sim / -Both)")
    for name in ("method", "n", "SMAPE", "MAE s", "action F1", "format failures", "latency s"):
        table.add_column(name, justify="left" if name == "method" else "right")
    for method in (m["name"] for m in result.methods):
        row = result.row("all", method)
        table.add_row(_label(result, method), str(row["n"]), _cell(row["smape"]), _cell(row["mae_s"], 2),
                      _cell(row["action_f1"]), _cell(row["format_failure_rate"]), f"{row['latency_s']['mean']:.3f}")
    return table


def _label(result: EvaluationResult, method: str) -> str:
    return next((m["label"] for m in result.methods if m["name"] == method), method)


def _card_text(card: Any) -> str:
    from personas.policy.inference import persona_text

    return card if isinstance(card, str) else persona_text(card)


def register_policy_commands(persona_app: typer.Typer) -> None:
    """Add `analyse` and `evaluate` (the same command as `personaact evaluate`) to the `persona` group."""
    persona_app.command("evaluate")(evaluate_command)
    persona_app.command("analyse")(analyse_command)


def register(app: typer.Typer) -> None:
    """Add the `train` group and the `evaluate` command to the root CLI."""
    app.add_typer(train_app, name="train")
    app.command("evaluate")(evaluate_command)
