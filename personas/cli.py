"""`personaact interview ...` and `personaact persona ...`: interview people (or simulated ones) and show personas."""

from __future__ import annotations

import os
import webbrowser
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.table import Table

from personas.analysis import BehaviourFeatures, NotEnoughDataError, analyse, load_traces
from personas.interview.agent import InterviewAgent, InterviewConfig
from personas.interview.outline import OutlineError, load_outline
from personas.interview.transcript import TranscriptError
from personas.models import ChatModel, ChatModelConfig, ModelUnavailableError, build_chat_model
from personas.persona import Persona, PersonaError, load_persona, persona_card, save_persona
from personas.synthesis import synthesise
from recorder.cli import ConfigOpt, SetOpt, fail
from recorder.config import ConfigError, load_config
from recorder.console import console
from recorder.importers.personaact_raw import PUBLIC_SAMPLE_DATA
from recorder.store import TraceFormatError

interview_app = typer.Typer(help="Interview a person about their viewing (terminal or local web page).", no_args_is_help=True)
persona_app = typer.Typer(help="Personas: show the card (and analyse/evaluate when the policy commands are installed).",
                          no_args_is_help=True)

TracesArg = Annotated[list[Path] | None, typer.Argument(help="Trace folders (or folders of them) of the person.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Interview folder (transcript, state, persona). "
                                                          "[default: runs/interview]")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue the interview saved in --out.")]
THREADS_ENV = "PERSONAACT_TORCH_THREADS"
EMBEDDED_THREADS = 1
USER_ERRORS = (ConfigError, OutlineError, TranscriptError, TraceFormatError, NotEnoughDataError, PersonaError,
               ModelUnavailableError, FileNotFoundError)


@dataclass(frozen=True)
class InterviewRunConfig:
    """Options of `interview run` and `interview web`."""

    out: Path = Path("runs/interview")
    outline: Path | None = None  # None: the shipped outline (personas/data/interview_outline.yaml)
    persona_id: str | None = None  # None: the traces' persona_id, else the folder name
    chat: ChatModelConfig = field(default_factory=ChatModelConfig)
    agent: InterviewConfig = field(default_factory=InterviewConfig)
    # Local backends: torch CPU threads. None: $PERSONAACT_TORCH_THREADS, else 1 for the embedded model, else torch's default.
    torch_threads: int | None = None

    def __post_init__(self) -> None:
        if self.torch_threads is not None and not 1 <= self.torch_threads <= 256:
            raise ValueError(f"torch_threads must be in [1, 256] (or unset), got {self.torch_threads}")


def resolved(cfg: InterviewRunConfig) -> InterviewRunConfig:
    """The config with the interview style chosen for its chat backend, and torch threads applied for local ones."""
    apply_torch_threads(cfg)
    return replace(cfg, agent=cfg.agent.for_backend(cfg.chat.backend))


def apply_torch_threads(cfg: InterviewRunConfig) -> int | None:
    """Set torch's CPU thread count for a local chat backend from the config or $PERSONAACT_TORCH_THREADS.

    The embedded 135M model gains nothing from more threads, and on a shared, loaded 2-core machine the
    demo took 3m26s with two threads against 40 s with one (threads wait on each other), so it gets one.
    """
    raw = cfg.torch_threads if cfg.torch_threads is not None else os.environ.get(THREADS_ENV, "").strip()
    if raw in (None, "") and cfg.chat.backend == "embedded":
        raw = EMBEDDED_THREADS
    if cfg.chat.backend not in ("embedded", "transformers") or raw in (None, ""):
        return None
    try:
        threads = int(raw)
    except ValueError:
        raise ConfigError(f"${THREADS_ENV}={raw!r}: must be a whole number of threads, e.g. 1") from None
    if threads < 1:
        raise ConfigError(f"torch threads must be >= 1, got {threads} (from torch_threads or ${THREADS_ENV})")
    import torch

    torch.set_num_threads(threads)
    return threads


def open_agent(traces: list[Path], cfg: InterviewRunConfig, resume: bool, model: ChatModel) -> InterviewAgent:
    """Start a new interview from the traces, or resume the one saved in cfg.out."""
    if resume:
        return InterviewAgent.resume(model, cfg.out, cfg.agent, cfg.chat.generation_options())
    if not traces:
        raise TraceFormatError("no trace given: name the person's trace folders (or use --resume)")
    loaded, folders = load_traces(traces)
    if not loaded:
        raise TraceFormatError(f"no trace folders found under {', '.join(map(str, traces))}")
    features = analyse(loaded, folders)
    return InterviewAgent.start(model, cfg.out, load_outline(cfg.outline), features, cfg.agent, folders,
                                cfg.chat.generation_options())


def finish_persona(agent: InterviewAgent, cfg: InterviewRunConfig) -> Persona:
    """Synthesise the persona from the finished interview and save persona.json + persona.md in the folder."""
    persona_id = cfg.persona_id or _persona_id(agent.features, agent.store.folder)
    with console.status("writing the persona…"):
        persona = synthesise(agent.model, agent.turns, agent.features, persona_id, cfg.chat.generation_options(),
                             cfg.agent.json_retries, source={"interview": str(agent.store.folder),
                                                             "trace_ids": list(agent.features.trace_ids)},
                             style=cfg.agent.style)
    save_persona(persona, agent.store.folder / "persona.json")
    return persona


def _persona_id(features: BehaviourFeatures, folder: Path) -> str:
    return folder.resolve().name or "persona"


def _load(config: Path | None, set_: list[str] | None, out: Path | None) -> InterviewRunConfig:
    return resolved(load_config(InterviewRunConfig, config, set_ or (), out=out))


@interview_app.command("run")
def run_command(traces: TracesArg = None, resume: ResumeOpt = False, out: OutOpt = None,
                config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Interview in the terminal; every answer is saved at once; stop any time and continue with --resume."""
    from personas.interview.terminal import run_terminal

    try:
        cfg = _load(config, set_, out)
        with build_chat_model(cfg.chat) as model:
            agent = open_agent(traces or [], cfg, resume, model)
            console.print(f"[bold]interview[/bold] {agent.outline.name}: saved in {cfg.out}")
            if not run_terminal(agent, console):
                raise typer.Exit(0)
            persona = finish_persona(agent, cfg)
    except USER_ERRORS as err:
        raise fail(str(err))
    console.print(Markdown(persona_card(persona)))
    console.print(f"persona saved to {cfg.out / 'persona.json'} (card: persona.md)")


@interview_app.command("web")
def web_command(traces: TracesArg = None, resume: ResumeOpt = False, out: OutOpt = None,
                port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one).")] = 0,
                open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the page in a browser.")] = False,
                config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Interview on a local web page (127.0.0.1 only) showing the example videos' frames beside the chat."""
    from personas.interview.web import InterviewWebApp, make_server

    try:
        cfg = _load(config, set_, out)
        model = build_chat_model(cfg.chat)
        agent = open_agent(traces or [], cfg, resume, model)
    except USER_ERRORS as err:
        raise fail(str(err))
    app = InterviewWebApp(agent, on_finish=lambda a: persona_card(finish_persona(a, cfg)))
    server = make_server(app, port)
    url = f"http://127.0.0.1:{server.server_port}/"
    console.print(f"interview page: {url}  (Ctrl-C to stop; answers are saved as you go)", highlight=False)
    if open_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print(f"stopped; continue with `personaact interview web --resume --out {cfg.out}`")
    finally:
        server.server_close()
        model.close()


@interview_app.command("demo")
def demo_command(
    traces: TracesArg = None,
    data: Annotated[Path, typer.Option(help="Raw PersonaAct sessions to import when no TRACES are given.")] = PUBLIC_SAMPLE_DATA,
    hidden: Annotated[str | None, typer.Option(help="Hidden persona id (from personas/data/simulated_personas.yaml).")] = None,
    out: Annotated[Path, typer.Option(help="Where the demo writes traces and the interview.")] = Path("runs/interview-demo"),
    sections: Annotated[int, typer.Option(min=1, help="How many outline sections to ask (one question each).")] = 5,
    config: ConfigOpt = None, set_: SetOpt = None,
) -> None:
    """A short interview of a simulated interviewee with the embedded chat model; prints the persona card."""
    from personas.interview.demo import run_demo

    try:
        cfg = resolved(load_config(InterviewRunConfig, config, set_ or (), out=out / "interview"))
        persona, recovery = run_demo(cfg, traces or [], data, out, hidden, sections)
    except USER_ERRORS as err:
        raise fail(str(err))
    console.print(Markdown(persona_card(persona)))
    table = Table(title=f"hidden traits recovered: {recovery.score} of {recovery.total}",
                  caption="one interview, one hidden persona: no CI; a blind guess gets 1 trait in 3 "
                          "(levels the answers do not speak to come from the recorded behaviour)")
    for column in ("trait", "hidden", "synthesised"):
        table.add_column(column)
    for name in persona.traits:
        table.add_row(name, recovery.missed.get(name, (persona.level(name),))[0], persona.level(name))
    console.print(table)


@persona_app.command("show")
def show_command(
    path: Annotated[Path, typer.Argument(help="A persona.json file.")],
    raw: Annotated[bool, typer.Option("--markdown", help="Print the Markdown source instead of rendering it.")] = False,
) -> None:
    """Render a persona card (narrative, traits with evidence, behaviour)."""
    try:
        card = persona_card(load_persona(path))
    except PersonaError as err:
        raise fail(str(err))
    if raw:
        print(card, end="")
    else:
        console.print(Markdown(card))


def register(app: typer.Typer) -> None:
    """Add the `interview` and `persona` groups to the root CLI (with the policy commands when installed)."""
    try:
        from personas.cli_policy import register_policy_commands
    except ImportError:  # the policy commands are optional here; `persona show` works without them
        pass
    else:
        register_policy_commands(persona_app)
    app.add_typer(interview_app, name="interview")
    app.add_typer(persona_app, name="persona")
