"""`personaact demo`: the whole job on embedded defaults, from the shipped public traces to one HTML report.

Stages: import the public traces; evaluate the statistical persona policy against trivial baselines on them;
build a sandbox world and record one of its simulated users as a trace (with categories); persona A fitted on that
trace, persona B from the public traces through an interview with the embedded chat model; a breadth and a depth
audit for each (persona B's breadth audit through virtual phones over adb/uiautomator2, the rest on the in-process
sandbox feed); a small validation of the audit against the sandbox's knobs; one report. `run_demo(data, out, size)`
is the library entry (tests pass a small `DemoSize`); every stage prints what it did and where its output went.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated

import typer

from recorder.cli import fail
from recorder.console import console
from recorder.errors import PersonaActError
from recorder.importers.personaact_raw import PUBLIC_SAMPLE_DATA

DEFAULT_DATA = PUBLIC_SAMPLE_DATA
DEMO_PERSON = "P01"  # the public collector persona B is interviewed about


class DemoError(ValueError, PersonaActError):
    """The demo cannot run as asked; the message names the option or file."""


@dataclass(frozen=True)
class DemoSize:
    """How big each stage is. The defaults are what `make demo` runs; tests pass `DemoSize.small()`."""

    users: int = 300  # simulated users of the sandbox world
    creators: int = 100  # enough fresh supply that a feed can narrow without running dry (as in `audit validate`)
    recorded_videos: int = 300  # length of the simulated user's recorded trace persona A is fitted on
    breadth_steps: int = 300  # videos per account in the sandbox breadth audits
    depth_steps: int = 150  # videos per phase in the depth audits
    window: int = 50
    repeats: int = 3  # fresh accounts per sandbox audit (CIs across repeats)
    virtual_steps: int = 80  # videos per account in the virtual-phone breadth audit (about 1 s each)
    virtual_window: int = 20
    interview_sections: int = 3
    validation_seeds: int = 3
    validation_steps: int = 150
    seed: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if f.name == "seed" else 1):
                raise DemoError(f"demo size {f.name}: must be an integer >= {0 if f.name == 'seed' else 1}, "
                                f"got {value!r}")
        for steps, window, name in ((self.breadth_steps, self.window, "breadth_steps"),
                                    (self.virtual_steps, self.virtual_window, "virtual_steps")):
            if steps < 2 * window:
                raise DemoError(f"demo size {name}: {steps} is fewer than two windows of {window}")

    @classmethod
    def small(cls) -> DemoSize:
        """A setting for tests: every stage runs, on a few dozen videos."""
        return cls(users=80, creators=10, recorded_videos=80, breadth_steps=60, depth_steps=40,
                   window=20, repeats=2, virtual_steps=24, virtual_window=8, interview_sections=1,
                   validation_seeds=2, validation_steps=40)


@dataclass(frozen=True)
class DemoOutputs:
    """Where everything went, and how long each stage took (seconds)."""

    out: Path
    report: Path
    numbers: Path
    public_traces: Path
    sandbox_user: Path
    personas: dict[str, Path]
    audits: dict[str, Path]
    validation: Path
    evaluation: Path
    seconds: dict[str, float] = field(default_factory=dict)


class _Stages:
    """Numbered stage banners with timings."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo, self.number = echo, 0
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, title: str) -> Iterator[None]:
        self.number += 1
        console.rule(f"[bold]{self.number}. {title}")
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 1)
        self.echo(f"[dim]{name}: {self.seconds[name]:.1f} s[/dim]")


def run_demo(data: Path = DEFAULT_DATA, out: Path = Path("runs/demo"), size: DemoSize | None = None,
             echo: Callable[[str], None] = console.print) -> DemoOutputs:
    """Run every stage into `out` (which must be empty or absent) and return where the outputs went."""
    from personaact import demo_stages as st

    size = size or DemoSize()
    if not data.is_dir():
        raise DemoError(f"{data}: public traces not found; pass --data pointing at a raw_data folder "
                        "(session_*.json files in one folder per collector)")
    if out.exists() and any(out.iterdir()):
        raise DemoError(f"--out {out}: not empty; the demo writes a fresh folder (remove it or pick another)")
    stages = _Stages(echo)
    total = time.perf_counter()
    with stages.stage("import", "import the shipped public PersonaAct traces"):
        public = st.import_public(data, out / "traces", echo)
    with stages.stage("evaluation", "statistical persona policy vs trivial baselines on the public traces"):
        evaluation, evaluated = st.evaluate_policy(public, out / "evaluation", echo)
    with stages.stage("persona_a", "sandbox world; persona A fitted on a recorded simulated user (with categories)"):
        world = st.sandbox_world(size)
        persona_a = st.record_sandbox_user(world, size, out / "sandbox-user", echo)
    with stages.stage("persona_b", f"persona B: interview about collector {DEMO_PERSON}'s public traces "
                                   "(embedded chat model)"):
        persona_b = st.persona_from_interview(public, DEMO_PERSON, size, out / "interview", out / "personas", echo,
                                              st.policy_figures(evaluated, DEMO_PERSON))
    audits: dict[str, Path] = {}
    with stages.stage("audits_sandbox", "breadth and depth audits on the in-process sandbox feed"):
        for persona in (persona_a, persona_b):
            if persona.key == "b":  # persona B's breadth audit goes through the virtual phones below
                audits.update(st.sandbox_audits(persona, world, size, out / "audits", ("depth",), echo))
            else:
                audits.update(st.sandbox_audits(persona, world, size, out / "audits", ("breadth", "depth"), echo))
    with stages.stage("audit_virtual", "breadth audit through virtual phones (adb + uiautomator2 on loopback)"):
        audits.update(st.virtual_audit(persona_b, world, size, out / "audits", echo))
    with stages.stage("validation", "validate the audit on the sandbox's known knobs"):
        validation = st.validate(size, out / "validation", echo)
    with stages.stage("report", "one HTML report of everything"):
        written = st.report([*audits.values(), validation, evaluation], out / "report.html")
    stages.seconds["total"] = round(time.perf_counter() - total, 1)
    outputs = DemoOutputs(out, written.html, written.numbers_csv, public.folder, persona_a.path.parent,
                          {p.persona_id: p.path for p in (persona_a, persona_b)}, audits, validation, evaluation,
                          dict(stages.seconds))
    print_outputs(outputs, echo)
    return outputs


def print_outputs(outputs: DemoOutputs, echo: Callable[[str], None]) -> None:
    """Where every output went."""
    console.rule("[bold]where everything went")
    echo(f"public traces (imported):   {outputs.public_traces}")
    echo(f"sandbox user's trace:       {outputs.sandbox_user}")
    for persona, path in outputs.personas.items():
        echo(f"persona {persona}: {path}")
    for name, path in outputs.audits.items():
        echo(f"audit {name}: {path}")
    echo(f"validation:                 {outputs.validation}")
    echo(f"policy evaluation:          {outputs.evaluation}")
    echo(f"numbers of the report:      {outputs.numbers}")
    echo(f"[bold]report:                     {outputs.report}[/bold]")
    echo(f"total {outputs.seconds.get('total', 0):.0f} s; open the report in a browser "
         f"(it needs no network): xdg-open {outputs.report}")


def demo_command(
    data: Annotated[Path, typer.Option(help="The public PersonaAct raw_data folder (one sub-folder per collector).")]
    = DEFAULT_DATA,
    out: Annotated[Path | None, typer.Option(help="Where the demo writes everything (must be empty or absent). "
                                                  "[default: runs/demo/<UTC date-time>]")] = None,
    small: Annotated[bool, typer.Option("--small", help="A few dozen videos per stage (a quick smoke run).")] = False,
) -> None:
    """Sandbox, two personas, breadth and depth audits (one through virtual phones), validation, one HTML report."""
    from datetime import UTC, datetime

    folder = out or Path("runs/demo") / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")  # a new folder each run
    try:
        run_demo(data, folder, DemoSize.small() if small else DemoSize())
    except PersonaActError as err:
        raise fail(str(err))


def register(app: typer.Typer) -> None:
    """Add `demo` to the root CLI."""
    app.command("demo")(demo_command)

