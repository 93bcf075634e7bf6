"""The demo's stages, each a composition of library calls (see personaact.demo for the order and sizes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.feeds import SandboxWorld
    from personaact.demo import DemoSize
    from personas.persona import Persona
    from recorder.trace import Trace
    from reports.render import Written

Echo = Callable[[str], None]


@dataclass(frozen=True)
class TraceSet:
    """Traces read from a folder, with the folder of each."""

    folder: Path
    traces: tuple[Trace, ...]
    folders: tuple[Path, ...]


@dataclass(frozen=True)
class DemoPersona:
    """A persona of the demo: its card on disk and the traces its statistical policy is fitted on."""

    key: str  # "a" or "b"
    persona: Persona
    path: Path
    traces: tuple[Trace, ...]
    evaluation: dict[str, Any] | None = None  # the policy's evaluation figures, when measured

    @property
    def persona_id(self) -> str:
        """The persona's id."""
        return self.persona.persona_id


def import_public(data: Path, folder: Path, echo: Echo) -> TraceSet:
    """Import every shipped public session (skipping ones already there) and say how many."""
    from personas.analysis import load_traces
    from recorder.console import progress_bar
    from recorder.importers.personaact_raw import find_session_files, import_sessions

    files = find_session_files([data])
    with progress_bar(len(files), "importing") as advance:
        result = import_sessions(files, folder, progress=advance)
    traces, folders = load_traces([folder])
    echo(f"{len(files)} session files from {data}: {len(result.written)} imported, {len(result.failed)} failed; "
         f"{len(traces)} traces, {sum(len(t) for t in traces)} videos in {folder}")
    return TraceSet(folder, tuple(traces), tuple(folders))


def sandbox_world(size: DemoSize) -> SandboxWorld:
    """The demo's sandbox world (MF recommender; outside accounts' feeds follow their engagement)."""
    from audit.feeds import SandboxWorld

    # 20 warm-up steps: the pool then holds creators' own posts (captions with hashtags) rather than the seed
    # catalogue's text-free items, so a feed without platform labels (the virtual phone) can be categorised
    # the world advances every 10 videos of an outside account, so new posts keep arriving (as in `audit validate`)
    return SandboxWorld(seed=size.seed, users=size.users, creators=size.creators, recommender="mf", warmup_steps=20,
                        advance_every=10)


def persona_from_behaviour(persona_id: str, traces: Sequence[Trace], folders: Sequence[Path] | None,
                           source: dict[str, Any]) -> Persona:
    """A persona card from behaviour alone (no interview): levels, evidence and narrative from the analysed traces."""
    from personas.analysis import analyse
    from personas.persona import TRAIT_LEVELS, Persona, Trait
    from personas.synthesis import behaviour_evidence, behaviour_level, behaviour_narrative

    features = analyse(list(traces), list(folders) if folders is not None else None)
    traits = {}
    for name in TRAIT_LEVELS:
        level, why = behaviour_level(name, features)
        traits[name] = Trait(name, level, f"from behaviour: {why}", tuple(behaviour_evidence(name, features)))
    return Persona(persona_id, behaviour_narrative(features), traits, features, source=source)


def persona_from_interview(public: TraceSet, person: str, size: DemoSize, interview_out: Path, folder: Path,
                           echo: Echo, evaluation: dict[str, Any] | None = None) -> DemoPersona:
    """Interview a simulated person about one collector's public traces; the card's stated preferences steer it."""
    from personas.cli import InterviewRunConfig, resolved
    from personas.interview.demo import run_demo as interview_demo
    from personas.persona import save_persona
    from recorder.config import load_config

    chosen = [f for t, f in zip(public.traces, public.folders) if t.header.collector == person]
    if not chosen:
        raise ValueError(f"collector {person}: no traces in {public.folder}")
    cfg = resolved(load_config(InterviewRunConfig, None, (), out=interview_out, persona_id=f"{person}-interview"))
    persona, recovery = interview_demo(cfg, chosen, public.folder, interview_out, None, size.interview_sections)
    echo(f"persona {persona.persona_id}: {len(chosen)} sessions of {person}, hidden traits recovered "
         f"{recovery.score} of {recovery.total}; interview in {interview_out}")
    path = save_persona(persona, folder / f"{persona.persona_id}.json")
    traces = tuple(t for t in public.traces if t.header.collector == person)
    return DemoPersona("b", persona, path, traces, evaluation)


def agent(persona: DemoPersona) -> Any:
    """The audit agent: the statistical policy fitted on the persona's traces, reversed for depth (audit.agents)."""
    from audit.agents import build_agent

    return build_agent(persona.persona, "statistical", list(persona.traces), card=persona.persona.to_dict(),
                       evaluation=persona.evaluation)


VIRTUAL_FAULTS = ("popup", "ad", "live")
EVALUATED_METHODS = ("training_median", "last10_median", "last_k_median", "statistical")


def evaluate_policy(public: TraceSet, folder: Path, echo: Echo) -> tuple[Path, dict[str, Any]]:
    """The statistical policy against the trivial baselines on the public traces' test split (evaluation.json)."""
    from personas.evaluation import evaluate, write_evaluation

    result = evaluate([t for t in public.traces if len(t)], methods=EVALUATED_METHODS)
    path = write_evaluation(result, folder)
    data = result.to_dict()
    pooled = {r["method"]: r["smape"] for r in data["rows"] if r["persona"] == "all"}
    echo("pooled test SMAPE: " + ", ".join(f"{m} {e['mean']:.3f} [{e['ci'][0]:.3f}, {e['ci'][1]:.3f}]"
                                           for m, e in pooled.items()) + f" -> {path}")
    return path, data


def policy_figures(evaluation: dict[str, Any], person: str, method: str = "statistical") -> dict[str, Any]:
    """What an audit's manifest records of its policy's evaluation: the person's row and paired differences."""
    row = next((r for r in evaluation["rows"] if r["persona"] == person and r["method"] == method), None)
    if row is None:
        return {}
    figures = {"persona": person, "method": method, "n": row["n"],
               **{k: row[k] for k in ("smape", "mae_s", "action_f1") if k in row}}
    for pair in evaluation.get("comparisons", []):
        if pair["persona"] == person and pair["method"] == method:
            figures[f"smape_diff_vs_{pair['baseline']}"] = pair["smape_diff"]
    return figures


def sandbox_audits(persona: DemoPersona, world: SandboxWorld, size: DemoSize, folder: Path,
                   protocols: Sequence[str], echo: Echo) -> dict[str, Path]:
    """Breadth and/or depth audits of one persona on the in-process sandbox feed, `size.repeats` fresh accounts."""
    from audit.feeds import SandboxSource
    from audit.protocols import AuditRun, AuditSpec

    done = {}
    for protocol in protocols:
        steps = size.breadth_steps if protocol == "breadth" else size.depth_steps
        name = f"{protocol}-{persona.persona_id}-sandbox"
        spec = AuditSpec(protocol, steps=steps, window=size.window, repeats=size.repeats, seed=size.seed)
        results = AuditRun(spec, SandboxSource(world), agent(persona), folder / name).run()
        echo(f"{name}: {_headline(results)} -> {folder / name}")
        done[name] = folder / name
    return done


def virtual_audit(persona: DemoPersona, world: SandboxWorld, size: DemoSize, folder: Path, echo: Echo) \
        -> dict[str, Path]:
    """A breadth audit through two virtual phones (persona and control) driven over adb and uiautomator2."""
    from audit.feeds import VirtualPhoneSource
    from audit.protocols import AuditRun, AuditSpec

    name = f"breadth-{persona.persona_id}-virtual"
    spec = AuditSpec("breadth", steps=size.virtual_steps, window=size.virtual_window, repeats=1, seed=size.seed)
    categorise, info = categoriser()
    # a few popups, ads and live rooms, as on a real phone: the report's incident table shows how they were handled
    source = VirtualPhoneSource(world, faults=VIRTUAL_FAULTS, fault_rate=0.05)
    results = AuditRun(spec, source, agent(persona), folder / name, categorise=categorise, categoriser_info=info).run()
    echo(f"{name}: {_headline(results)}; incidents {results.get('incidents')} -> {folder / name}")
    return {name: folder / name}


def categoriser() -> tuple[Any, dict[str, Any]]:
    """The categoriser for feeds without platform labels (the virtual phone shows captions and hashtags), with its
    accuracy measured on sandbox items whose true categories are known."""
    from audit.categoriser import Categoriser, accuracy_summary, quick_accuracy

    categorise = Categoriser()
    accuracy, n = accuracy_summary(quick_accuracy(categorise))
    return categorise, {"name": categorise.name, "accuracy": accuracy, "n": n, "measured_on": "sandbox items"}


def record_sandbox_user(world: SandboxWorld, size: DemoSize, folder: Path, echo: Echo) -> DemoPersona:
    """Record a simulated user of the world browsing an outside account (categories from the platform), and fit
    persona A on that trace (card from behaviour alone)."""
    from audit.validation import record_sandbox_user as record
    from personas.persona import save_persona

    reference, traces = record(world, folder / "trace", size.recorded_videos)
    persona = persona_from_behaviour(reference.persona_id, traces, [folder / "trace"],
                                     {"sandbox_user_trace": str(folder / "trace"), "world": repr(world)})
    path = save_persona(persona, folder / f"{persona.persona_id}.json")
    categorised = sum(1 for t in traces for step in t.steps if step.category is not None)
    echo(f"persona {persona.persona_id}: {sum(len(t) for t in traces)} videos recorded ({categorised} with platform "
         f"categories) in {folder / 'trace'}; card {path}")
    echo(persona.features.summary() if persona.features else "")
    return DemoPersona("a", persona, path, tuple(traces))


def validate(size: DemoSize, folder: Path, echo: Echo) -> Path:
    """A small `audit validate`: BEP across inertia levels and decline across personalisation levels."""
    from audit.validation import ValidationSettings, run_validation

    settings = ValidationSettings(inertia_levels=(0.0, 0.35, 0.7, 1.0), personalisation_levels=(0.0, 0.5, 1.0),
                                  seeds=size.validation_seeds, depth_steps=size.validation_steps,
                                  breadth_steps=2 * size.validation_steps, window=size.window,
                                  users=size.users, creators=size.creators, user_videos=size.recorded_videos,
                                  seed=size.seed)
    result = run_validation(settings, folder)
    for name in ("depth", "breadth"):
        block = result[name]
        levels = ", ".join(f"{lv['level']:g}: {lv['mean']:.3f}" for lv in block["levels"])
        echo(f"{name}: {block['metric']} by {block['knob']} ({levels}); ranking "
             f"{'ok' if block['ranking_ok'] else 'WRONG'}, extreme CIs {'disjoint' if block['extremes_disjoint'] else 'overlap'}")
    echo(f"validation {'passed' if result['passed'] else 'FAILED'} ({size.validation_seeds} seeds per level): "
         f"{folder / 'validation.json'}")
    return folder / "validation.json"


def report(paths: Sequence[Path], out: Path) -> Written:
    """One HTML report of every audit and the validation, numbers beside it."""
    from reports.render import build_report, write_report

    return write_report(build_report(list(paths), "PersonaAct demo: two personas, breadth and depth audits, "
                                                  "validation", "personaact demo"), out)


def _headline(results: dict[str, Any]) -> str:
    if "breadth" in results:
        est = results["breadth"]["relative_decline"]
        return f"relative decline {est['mean']:.3f} [{est['ci'][0]:.3f}, {est['ci'][1]:.3f}] (n={est['n']})"
    est = results["depth"]["bep"]
    return f"BEP {est['mean']:.3f} [{est['ci'][0]:.3f}, {est['ci'][1]:.3f}] (n={est['n']})"
