"""The interview demo: a simulated interviewee (hidden persona) interviewed about real traces, then synthesised."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from personas.analysis import MIN_VIDEOS, analyse, load_traces
from personas.interview.agent import InterviewAgent
from personas.interview.outline import load_outline
from personas.interview.simulated import (
    HiddenPersona,
    SimulatedInterviewee,
    TraitRecovery,
    load_hidden_personas,
    trait_recovery,
)
from personas.interview.transcript import TranscriptStore
from personas.models import ChatModel, build_chat_model
from personas.persona import Persona, PersonaError, save_persona
from personas.synthesis import synthesise
from recorder.console import console
from recorder.store import TraceFormatError
from recorder.trace import Trace

if TYPE_CHECKING:
    from personas.cli import InterviewRunConfig


def pick_hidden(hidden_id: str | None) -> HiddenPersona:
    """The shipped hidden persona with this id (the first one when None)."""
    personas = load_hidden_personas()
    if hidden_id is None:
        return personas[0]
    for persona in personas:
        if persona.persona_id == hidden_id:
            return persona
    raise PersonaError(f"--hidden {hidden_id!r}: unknown; choose one of {', '.join(p.persona_id for p in personas)}")


def demo_traces(traces: Sequence[Path], data: Path, out: Path) -> tuple[list[Trace], list[Path]]:
    """The given traces, or one collector's imported public sessions (the first with enough videos)."""
    if not traces:
        from recorder.importers.personaact_raw import find_session_files, import_sessions

        if not data.is_dir():
            raise TraceFormatError(f"{data}: public sessions not found; pass trace folders or --data")
        import_sessions(find_session_files([data]), out / "traces")
        traces = [out / "traces"]
    loaded, folders = load_traces(list(traces))
    by_person: dict[str, list[int]] = defaultdict(list)
    for position, trace in enumerate(loaded):
        by_person[trace.header.collector or trace.header.persona_id or "?"].append(position)
    for person in sorted(by_person):
        chosen = by_person[person]
        if sum(len(loaded[i]) for i in chosen) >= MIN_VIDEOS:
            return [loaded[i] for i in chosen], [folders[i] for i in chosen]
    raise TraceFormatError(f"no person in {', '.join(map(str, traces))} has {MIN_VIDEOS} or more videos")


def interview_simulated(agent: InterviewAgent, interviewee: SimulatedInterviewee, echo: bool = True) -> None:
    """Let the simulated interviewee answer every question until the interview ends."""
    while (turn := agent.next_question()) is not None:
        answer = interviewee.answer(turn.question, agent.turns[:-1])
        if echo:
            console.print(f"[bold]Q{turn.turn_id}[/bold] ({turn.section}) {turn.question}\n[green]A:[/green] {answer}",
                          highlight=False)
        agent.answer(answer)


def run_demo(cfg: InterviewRunConfig, traces: Sequence[Path], data: Path, out: Path, hidden_id: str | None,
             sections: int) -> tuple[Persona, TraitRecovery]:
    """Import (if needed), interview the simulated person, synthesise, save and score the persona."""
    hidden = pick_hidden(hidden_id)
    loaded, folders = demo_traces(traces, data, out)
    with console.status("loading the chat model…"):
        model: ChatModel = build_chat_model(cfg.chat)
    with model:
        options = cfg.chat.generation_options()
        if TranscriptStore(cfg.out).exists():
            agent = InterviewAgent.resume(model, cfg.out, cfg.agent, options)
        else:
            outline = load_outline(cfg.outline).limited(max_sections=sections, max_budget=1)
            agent = InterviewAgent.start(model, cfg.out, outline, analyse(loaded, folders), cfg.agent, folders, options)
        console.print(f"simulated interviewee: [bold]{hidden.persona_id}[/bold]; interview saved in {cfg.out}")
        interviewee = SimulatedInterviewee(model, hidden, options, cfg.agent.style, cfg.agent.answer_tokens)
        interview_simulated(agent, interviewee)
        with console.status("writing the persona…"):
            persona = synthesise(model, agent.turns, agent.features, cfg.persona_id or f"sim-{hidden.persona_id}",
                                 options, cfg.agent.json_retries, source={"interview": str(cfg.out), "hidden": hidden.persona_id},
                                 style=cfg.agent.style)
    save_persona(persona, cfg.out / "persona.json")
    return persona, trait_recovery(hidden, persona)
