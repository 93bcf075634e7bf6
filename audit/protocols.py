"""The two audit protocols: breadth (persona beside a control account) and depth (cultivate, then reverse: BEP).

Both run R repeats (fresh accounts, seed + r), each account through the one runner (audit.runner), then compute
every number from the traces (audit.results). Sandbox repeats can run as Ray tasks; phones run one worker each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from audit import results as res
from audit.control import CONTROL, ControlPolicy
from audit.feeds import START, FeedSource
from audit.incidents import Incidents
from audit.manifest import card_hash, finish_manifest, start_manifest
from audit.runner import Categorise, RunnerOptions, SessionRunner, run_interleaved
from personas.policy import PersonaLike, Policy
from recorder.errors import PersonaActError
from recorder.files import write_json_atomic
from recorder.store import read_trace
from recorder.trace import TraceHeader

log = logging.getLogger(__name__)
PROTOCOLS = ("breadth", "depth")
DEFAULT_STEPS = {"breadth": 800, "depth": 400}


class AuditError(ValueError, PersonaActError):
    """An audit cannot start as asked; the message names the option."""


@dataclass(frozen=True)
class AuditSpec:
    """What to run: protocol, steps (breadth: per account; depth: per phase), windows, repeats, seeds."""

    protocol: str
    steps: int = 0  # 0: the protocol's default (800 breadth, 400 depth)
    window: int = 50
    stride: int | None = None  # None: windows back to back
    repeats: int = 1
    seed: int = 0
    control_fraction: float = 0.5
    bootstrap: int = 1000
    skip_s: float = 1.0
    save_frames: bool = False
    ray: bool = False  # sandbox repeats as Ray tasks

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise AuditError(f"protocol: {self.protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if self.steps == 0:
            object.__setattr__(self, "steps", DEFAULT_STEPS[self.protocol])
        if self.steps < 1 or self.repeats < 1 or self.window < 1:
            raise AuditError("--steps, --repeats and --window must be >= 1")
        if self.protocol == "breadth" and self.steps < 2 * self.window:
            raise AuditError(f"--steps {self.steps}: breadth needs at least two windows of {self.window}")


@dataclass
class Agent:
    """Who acts: the persona, a fresh policy per repeat, its reversal (depth), and what the manifest says of them."""

    persona: PersonaLike
    policy: Callable[[int], Policy]  # repeat -> policy
    reversed_policy: Callable[[int], Policy] | None = None
    policy_kind: str = "statistical"
    card: Mapping[str, Any] | None = None
    evaluation: Mapping[str, Any] | None = None
    reversed_card: Mapping[str, Any] | None = None


@dataclass
class AuditRun:
    """An audit in a folder: spec, feed source, agent, categoriser; `run()` fills the folder."""

    spec: AuditSpec
    source: FeedSource
    agent: Agent
    out: Path
    resume: bool = False
    categorise: Categorise | None = None
    categoriser_info: Mapping[str, Any] = field(default_factory=lambda: {"name": "platform", "accuracy": None, "n": 0})
    progress: Callable[[int], None] | None = None

    def run(self) -> dict[str, Any]:
        """Run (or resume) every repeat, then write results.json, results.csv and the manifest's end."""
        self._prepare()
        start_manifest(self.out, protocol=self.spec.protocol, spec=asdict(self.spec), feed=self.source.describe(),
                       persona=self._persona_block(), policy={"kind": self.agent.policy_kind,
                                                              "evaluation": self.agent.evaluation},
                       seeds=[self.spec.seed + r for r in range(self.spec.repeats)],
                       categoriser=dict(self.categoriser_info))
        try:
            if self.spec.ray and self.source.kind == "sandbox" and self.spec.repeats > 1:
                incidents = _ray_repeats(self)
            else:
                incidents = sum((self.run_repeat(r) for r in range(self.spec.repeats)), Incidents())
        finally:
            self.source.close()
        results = self.results(incidents)
        res.write_results(self.out, results)
        finish_manifest(self.out, feed=self.source.describe(), incidents=incidents.to_dict())
        return results

    def _prepare(self) -> None:
        if self.out.exists() and any(self.out.iterdir()) and not self.resume:
            raise AuditError(f"--out {self.out}: not empty; pass --resume to carry on that audit or pick a new folder")
        self.out.mkdir(parents=True, exist_ok=True)
        cards = {"persona": self.agent.card, "reversed": self.agent.reversed_card}
        write_json_atomic(self.out / "persona.json", {k: v for k, v in cards.items() if v is not None}
                          or {"persona_id": self.agent.persona.persona_id})

    def _persona_block(self) -> dict[str, Any]:
        reversed_id = f"{self.agent.persona.persona_id}-reversed" if self.spec.protocol == "depth" else None
        return {"id": self.agent.persona.persona_id, "card_hash": card_hash(self.agent.card), "reversed_id": reversed_id}

    # --- one repeat ----------------------------------------------------------------------------------
    def folder(self, repeat: int, account: str) -> Path:
        """Trace folder of one account of one repeat."""
        return self.out / "repeats" / f"r{repeat:03d}" / account

    def _runner(self, repeat: int, account: str, policy: Policy, persona: PersonaLike, steps: int) -> SessionRunner:
        folder = self.folder(repeat, account)
        feed = self.source.open(repeat, account)
        header = TraceHeader(f"{self.out.name}-r{repeat:03d}-{account}", "agent", self.source.kind,
                             START if self.source.replayable else feed.clock.now(), persona_id=persona.persona_id,
                             extra={"protocol": self.spec.protocol, "repeat": repeat, "account": account,
                                    "seed": self.spec.seed + repeat})
        options = RunnerOptions(skip_s=self.spec.skip_s, save_frames=self.spec.save_frames,
                                resume_mode="replay" if self.source.replayable else "continue")
        return SessionRunner(feed, policy, persona, folder, header=header, steps=steps, seed=self.spec.seed + repeat,
                             resume=folder.exists(), options=options, categorise=self.categorise)

    def run_repeat(self, repeat: int) -> Incidents:
        """Run one repeat's accounts; returns their incidents."""
        if self.spec.protocol == "breadth":
            return self._breadth(repeat)
        return self._depth(repeat)

    def _breadth(self, repeat: int) -> Incidents:
        runners = [self._runner(repeat, "persona", self.agent.policy(repeat), self.agent.persona, self.spec.steps),
                   self._runner(repeat, "control", ControlPolicy(self.spec.control_fraction), CONTROL,
                                self.spec.steps)]
        if self.source.parallel:  # two phones: same time means side by side
            from audit.pool import DevicePool

            outcome = DevicePool(runners, ["persona", "control"]).run(lambda r, tick: r.run(tick),
                                                                      total=2 * self.spec.steps)
            errors = {k: v for k, v in outcome.items() if isinstance(v, BaseException)}
            if errors:
                name, err = next(iter(errors.items()))
                raise AuditError(f"repeat {repeat}: the {name} account failed ({err}); fix it and rerun with --resume")
            stats: list[Any] = [outcome["persona"], outcome["control"]]
        else:  # one sandbox world: same time means interleaved step by step
            stats = list(run_interleaved(runners, self.progress))
        return sum((s.incidents for s in stats), Incidents())

    def _depth(self, repeat: int) -> Incidents:
        if self.agent.reversed_policy is None:
            raise AuditError("depth audit: the policy has no reversed persona; use a persona with features or the "
                             "statistical policy")
        cultivation, reversal = self.agent.policy(repeat), self.agent.reversed_policy(repeat)
        runner = self._runner(repeat, "account", cultivation, self.agent.persona, 2 * self.spec.steps)
        try:
            while not runner.done:
                runner.policy = cultivation if runner.index < self.spec.steps else reversal
                if runner.step() is not None and self.progress:
                    self.progress(1)
        except BaseException:
            runner.writer.close()
            raise
        return runner.finish().incidents

    # --- numbers -------------------------------------------------------------------------------------
    def results(self, incidents: Incidents) -> dict[str, Any]:
        """results.json from the traces on disk (see audit.results)."""
        spec = self.spec
        out: dict[str, Any] = {"kind": "audit", "schema_version": 1, "protocol": spec.protocol, "window": spec.window,
                               "stride": spec.stride or spec.window, "steps": spec.steps, "repeats": spec.repeats,
                               "persona": self._persona_block(), "feed": self.source.describe(),
                               "policy": {"kind": self.agent.policy_kind, "evaluation": self.agent.evaluation},
                               "categoriser": dict(self.categoriser_info), "incidents": incidents.to_dict()}
        if spec.protocol == "breadth":
            persona = [read_trace(self.folder(r, "persona")).steps for r in range(spec.repeats)]
            control = [read_trace(self.folder(r, "control")).steps for r in range(spec.repeats)]
            out["breadth"] = res.breadth_block(persona, control, spec.window, spec.stride)
        else:
            phases = []
            for r in range(spec.repeats):
                steps = read_trace(self.folder(r, "account")).steps
                phases.append((steps[:spec.steps], steps[spec.steps:]))
            out["depth"] = res.depth_block(phases, spec.bootstrap, spec.seed)
        return out


def _ray_repeats(run: AuditRun) -> Incidents:
    """Each sandbox repeat as a Ray task (local ray.init() unless one is running)."""
    import ray

    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    task = ray.remote(_repeat_task)
    progress, run.progress = run.progress, None  # a callback cannot cross into the tasks
    try:
        counts = ray.get([task.remote(run, r) for r in range(run.spec.repeats)])
    finally:
        run.progress = progress
    if progress:
        progress(run.spec.repeats * run.spec.steps * 2)
    return sum((Incidents.from_dict(c) for c in counts), Incidents())


def _repeat_task(run: AuditRun, repeat: int) -> dict[str, int]:
    return run.run_repeat(repeat).to_dict()
