"""The one loop that drives a Feed: observe -> decide -> act (dwell minus time already spent) -> next, checkpointed per step.

Every viewer in the toolkit (audit agents, the control account, sandbox outside accounts) is a `Policy` whose
`Decision` this runner turns into actions on a `Feed`; nothing else drives a feed.

Checkpointing: each Step is appended (fsynced) to the trace folder before the next swipe, so a kill loses at most
the step in flight. `resume=True` reopens the folder. Two ways to carry on:
- ``replay`` (deterministic feeds: the sandbox on a virtual clock): the caller hands a *fresh* feed built from
  the same seed; the runner re-performs the recorded steps' watch times and actions on it (checking each video id),
  which rebuilds the feed's state, then continues live. Decisions draw from a random stream reseeded per step
  from (seed, index), so the resumed trace equals an uninterrupted run's, line for line.
- ``continue`` (phones): the world moved on; the run appends after the last recorded step from whatever is on screen.

Faults: ads and live rooms are labelled and left after `skip_s` without asking the policy; popups and app crashes
are handled by the feed (PhoneFeed) and counted; a login wall pauses the run with a message and polls until it is
gone; a disconnect triggers a reconnect and a re-observation *before* any further action, so a swipe that already
landed is never repeated (no video skipped or counted twice). Per-step incidents are kept in `Step.extra` and
summed into one `Incidents` record; per-step timings go to `runner.jsonl` beside the trace (they vary run to run,
so they stay out of the trace itself).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from audit.incidents import Incidents
from device.base import DeviceDisconnected
from personas.policy import Decision, PersonaLike, Policy
from recorder.errors import PersonaActError
from recorder.feed import Feed, FeedError, Observation
from recorder.store import STEPS_FILE, TraceReader, TraceWriter
from recorder.trace import Action, Category, Step, TraceHeader

log = logging.getLogger(__name__)
T = TypeVar("T")

RESUME_MODES = ("replay", "continue")
TIMING_FILE = "runner.jsonl"
Categorise = Callable[[Observation], Category | None]


class RunnerError(RuntimeError, PersonaActError):
    """The run cannot go on; the message says what to do (often: fix the phone, then rerun with --resume)."""


class ResumeMismatch(RunnerError):
    """Replaying the recorded steps on a fresh feed showed a different video: the feed is not the same world."""


@dataclass(frozen=True)
class RunnerOptions:
    """How the runner treats ads, frames, resumes, login walls and disconnects."""

    skip_s: float = 1.0  # seconds on an ad or live room before swiping on
    save_frames: bool = False  # store each observation's frame (PNG) in the trace folder
    resume_mode: str = "continue"  # replay | continue (see the module docstring)
    login_wait_s: float = 900.0  # how long a login wall may wait for a person before the run stops
    login_poll_s: float = 5.0
    max_reconnects: int = 5  # consecutive failed reconnects before the run stops (resumable)
    reconnect_wait_s: float = 2.0

    def __post_init__(self) -> None:
        if self.resume_mode not in RESUME_MODES:
            raise RunnerError(f"resume_mode: {self.resume_mode!r} is not one of {', '.join(RESUME_MODES)}")
        for name in ("skip_s", "login_wait_s", "login_poll_s", "reconnect_wait_s"):
            if getattr(self, name) < 0:
                raise RunnerError(f"runner option {name}: must be >= 0, got {getattr(self, name)}")
        if self.max_reconnects < 0:
            raise RunnerError(f"runner option max_reconnects: must be >= 0, got {self.max_reconnects}")


@dataclass(frozen=True)
class StepTiming:
    """Where one step's time went (seconds): decided vs actual dwell, decision latency, runner overhead."""

    index: int
    decided_s: float
    actual_s: float  # feed-clock time the video stayed on screen
    latency_s: float  # the policy's own measure of its decision time
    overhead_s: float  # wall time of the step outside the dwell itself

    @property
    def dwell_error_s(self) -> float:
        """Actual minus decided time on the video."""
        return self.actual_s - self.decided_s


@dataclass(frozen=True)
class RunStats:
    """What a session run did."""

    folder: Path
    steps: int  # steps in the trace now
    replayed: int  # recorded steps re-performed (replay resume) or skipped over (continue resume)
    incidents: Incidents
    timings: tuple[StepTiming, ...] = field(default=(), repr=False)
    wall_s: float = 0.0


def step_seed(seed: int, index: int) -> int:
    """The random seed of step `index` (so a resumed run draws what an uninterrupted one would)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _reseed(policy: Any, seed: int) -> None:
    for target in (policy, getattr(policy, "inner", None)):
        if target is not None and callable(getattr(target, "reseed", None)):
            target.reseed(seed)


def same_video(a: Observation, b: Observation) -> bool:
    """Whether two observations show the same video (id when both have one, else author and caption)."""
    if a.meta.video_id and b.meta.video_id:
        return a.meta.video_id == b.meta.video_id
    return (a.meta.author, a.meta.caption, a.screen) == (b.meta.author, b.meta.caption, b.screen)


def decision_of(step: Step) -> Decision:
    """The decision a recorded step carried out (for replaying it)."""
    comment = next((a for a in step.actions if a.name == "comment"), None)
    return Decision(step.watch_s, like=step.did("like"), comment=comment is not None,
                    share=step.did("share"), comment_text=comment.text if comment else None,
                    follow=step.did("follow"), not_interested=step.did("not_interested"))


def _is_login_wall(err: BaseException) -> bool:
    return type(err).__name__ == "LoginWallError"  # device.phone_feed's; matched by name to keep feeds pluggable


class SessionRunner:
    """Drives one feed with one policy for one persona, one step per call (so sessions can be interleaved)."""

    def __init__(self, feed: Feed, policy: Policy, persona: PersonaLike, folder: str | Path, *, header: TraceHeader,
                 steps: int, seed: int = 0, resume: bool = False, options: RunnerOptions | None = None,
                 categorise: Categorise | None = None, pause: Callable[[str], None] | None = None):
        if steps < 1:
            raise RunnerError(f"steps: must be >= 1, got {steps}")
        self.feed, self.policy, self.persona, self.steps, self.seed = feed, policy, persona, steps, seed
        self.options = options or RunnerOptions()
        self.categorise, self.pause = categorise, pause or (lambda message: log.warning("%s", message))
        self.folder = Path(folder)
        self.recorded: list[Step] = []
        self.writer = self._open(header, resume)
        replay = self.options.resume_mode == "replay"
        self.history: list[Step] = [] if replay else list(self.recorded)  # replay rebuilds it step by step
        self.incidents = sum((Incidents.from_dict(s.extra.get("incidents")) for s in self.recorded), Incidents())
        self.timings: list[StepTiming] = []
        self.replayed = 0
        self._step_incidents = Incidents()
        self._feed_noted = len(getattr(feed, "incidents", ()))
        self._obs: Observation | None = None
        self._lag_s = 0.0  # running estimate of dwell end -> next video on screen (the swipe's own delay)
        self._started = time.perf_counter()
        self._finished = False
        if self.options.resume_mode == "continue":
            self.replayed = len(self.recorded)

    def _open(self, header: TraceHeader, resume: bool) -> TraceWriter:
        if (self.folder / "trace.json").is_file():
            if not resume:
                raise RunnerError(f"{self.folder}: already holds a trace; pass --resume to carry on or pick a new --out")
            reader = TraceReader(self.folder)
            writer = TraceWriter.resume(self.folder)
            self.recorded = list(reader.steps())
            return writer
        if self.folder.exists() and any(self.folder.iterdir()):
            raise RunnerError(f"{self.folder}: not empty and not a trace folder; pick a new --out")
        return TraceWriter.create(self.folder, header)

    @property
    def index(self) -> int:
        """Index of the next step to record."""
        return len(self.history)

    @property
    def done(self) -> bool:
        """Whether the trace holds all its steps."""
        return self.index >= self.steps

    # --- the loop ------------------------------------------------------------------------------------
    def step(self) -> Step | None:
        """Record one more step (replaying a recorded one first when resuming); None when the run is complete."""
        if self.done:
            return None
        started = time.perf_counter()
        obs = self._obs or self._observe()
        replaying = self.options.resume_mode == "replay" and self.replayed < len(self.recorded)
        if replaying:
            recorded = self.recorded[self.replayed]
            if not same_video(obs, _observation_of(recorded, obs)):
                raise ResumeMismatch(f"{self.folder}: step {self.replayed} was {recorded.meta.video_id!r} but the "
                                     f"fresh feed shows {obs.meta.video_id!r}; resume with the same seed and settings")
            decision = decision_of(recorded)
        else:
            decision = self._decide(obs)
        step, dwell_wall = self._perform(obs, decision)
        dwell_end = self.feed.clock.now()
        if replaying:
            self.replayed += 1
            self.history.append(self.recorded[self.replayed - 1])
        else:
            self.writer.append(step)
            self.history.append(step)
            self.incidents += self._step_incidents
        self._step_incidents = Incidents()
        self._obs = self._advance(obs) if not self.done else None
        if self._obs is not None and not replaying:
            lag = max(0.0, (self._obs.shown_at - dwell_end).total_seconds())
            self._lag_s = lag if not self.timings else 0.7 * self._lag_s + 0.3 * lag
        if not replaying:
            self._time(step, decision, started, dwell_wall)
        return step

    def run(self, progress: Callable[[int], None] | None = None) -> RunStats:
        """Record steps until the trace is complete; `progress(n)` after each new step."""
        try:
            while self.step() is not None:
                if progress:
                    progress(1)
        except BaseException:
            self.writer.close()  # every appended step is already on disk: the run resumes from there
            raise
        return self.finish()

    def finish(self) -> RunStats:
        """Close the feed's last video, stamp the header's end time, and summarise."""
        if self.done and not self._finished:
            self._finished = True
            self.feed.close()
            self.writer.update_header(ended_at=self.feed.clock.now())
        self.writer.close()
        return RunStats(self.folder, self.index, self.replayed, self.incidents, tuple(self.timings),
                        time.perf_counter() - self._started)

    # --- observe / decide / act ----------------------------------------------------------------------
    def _observe(self) -> Observation:
        waited = 0.0
        while True:
            try:
                obs = self._guard(self.feed.current)
            except FeedError as err:
                if not _is_login_wall(err):
                    raise
                obs = None
                message = str(err)
            else:
                message = f"{self.folder.name}: the app shows a login wall; log in (fresh audit account) to continue"
            if obs is not None and obs.screen != "login_wall":
                self._collect_feed_incidents()
                return obs
            if waited == 0.0:
                self._step_incidents = self._step_incidents.bump("login_walls")
                self.pause(f"{message} (waiting up to {self.options.login_wait_s:.0f} s)")
            if waited >= self.options.login_wait_s:
                raise RunnerError(f"{self.folder}: still behind a login wall after {waited:.0f} s; log in on the "
                                  "phone, then rerun the same command with --resume")
            time.sleep(self.options.login_poll_s)
            waited += max(self.options.login_poll_s, 1e-3)

    def _decide(self, obs: Observation) -> Decision:
        if obs.screen in ("ad", "live"):
            return Decision(self.options.skip_s)
        _reseed(self.policy, step_seed(self.seed, self.index))
        if obs.category is None and self.categorise is not None:
            obs = replace(obs, category=self.categorise(obs))
            self._obs = obs
        videos = [s for s in self.history if not (s.meta.is_ad or s.meta.is_live)]
        return self.policy.act(self.persona, obs, videos)

    def _perform(self, obs: Observation, decision: Decision) -> tuple[Step, float]:
        """Do what the decision says, in the order a person would, keeping only the actions the feed confirmed."""
        obs = self._obs or obs
        actions: list[Action] = []
        for name, wanted in (("like", decision.like), ("comment", decision.comment), ("share", decision.share),
                             ("follow", decision.follow)):
            if wanted:
                self._act(obs, name, decision, actions)
        elapsed = self._elapsed(obs)
        dwell_started = time.perf_counter()
        # time already spent since the video appeared counts, and so does the swipe still to come
        self._guard(lambda: self.feed.watch(max(0.0, decision.watch_s - elapsed - self._lag_s)))
        dwell_wall = time.perf_counter() - dwell_started
        if decision.not_interested:
            self._act(obs, "not_interested", decision, actions)
        self._collect_feed_incidents()
        return self._step_of(obs, decision, actions), dwell_wall

    def _act(self, obs: Observation, name: str, decision: Decision, actions: list[Action]) -> None:
        at_s = round(self._elapsed(obs), 3)
        if name == "comment":
            text = decision.comment_text
            ok = bool(text) and self._guard(lambda: self.feed.comment(text or ""), retry=False)
            action = Action("comment", text=text, at_s=at_s) if ok else None
        else:
            ok = self._guard(getattr(self.feed, name), retry=name != "not_interested")
            action = Action(name, at_s=at_s) if ok else None
        if action is not None:
            actions.append(action)
        else:
            self._step_incidents = self._step_incidents.bump("action_failures")
            log.info("%s: %s on step %d was not confirmed by the feed", self.folder.name, name, self.index)

    def _step_of(self, obs: Observation, decision: Decision, actions: list[Action]) -> Step:
        meta = obs.meta
        if obs.screen == "ad" and not meta.is_ad:
            meta = replace(meta, is_ad=True)
        if obs.screen == "live" and not meta.is_live:
            meta = replace(meta, is_live=True)
        if meta.is_ad or meta.is_live:
            self._step_incidents = self._step_incidents.bump("ads" if meta.is_ad else "lives")
        frames: tuple[str, ...] = ()
        if self.options.save_frames and obs.frame is not None:
            import cv2

            frames = (self.writer.add_file(cv2.imencode(".png", obs.frame)[1].tobytes(), "frame",
                                           f"{self.index:05d}.png"),)
        extra = {"incidents": self._step_incidents.nonzero()} if self._step_incidents.total else {}
        return Step(self.index, obs.shown_at, decision.watch_s, tuple(actions), meta, obs.category, obs.transcript,
                    frames, extra=extra)

    def _advance(self, before: Observation) -> Observation:
        """Swipe on; after a disconnect, reconnect and look before swiping again (the swipe may have landed)."""
        for _ in range(self.options.max_reconnects + 1):
            try:
                obs = self.feed.next()
                self._collect_feed_incidents()
                if obs.screen == "login_wall":
                    return self._observe()
                return obs
            except DeviceDisconnected as err:
                self._reconnect(err)
                now = self._observe()
                if not same_video(before, now):
                    return now  # the swipe landed before the line dropped: do not swipe twice
            except FeedError as err:
                if not _is_login_wall(err):
                    raise
                return self._observe()
        raise RunnerError(f"{self.folder}: could not move to the next video after {self.options.max_reconnects} "
                          "reconnects; check the phone, then rerun with --resume")

    # --- faults --------------------------------------------------------------------------------------
    def _guard(self, call: Callable[[], T], retry: bool = True) -> T:
        """Run a feed call; on a disconnect reconnect, and (for idempotent calls) run it again."""
        for _ in range(self.options.max_reconnects + 1):
            try:
                return call()
            except DeviceDisconnected as err:
                self._reconnect(err)
                if not retry:
                    return False  # type: ignore[return-value]  # e.g. a comment: never post twice
        raise RunnerError(f"{self.folder}: the phone kept disconnecting ({self.options.max_reconnects} reconnects); "
                          "check the cable, then rerun with --resume")

    def _reconnect(self, err: BaseException) -> None:
        self._step_incidents = self._step_incidents.bump("reconnects")
        log.warning("%s: %s; reconnecting", self.folder.name, err)
        reconnect = getattr(self.feed, "reconnect", None)
        for attempt in range(self.options.max_reconnects):
            try:
                if callable(reconnect):
                    reconnect()
                return
            except DeviceDisconnected:
                time.sleep(self.options.reconnect_wait_s * (attempt + 1))
        raise RunnerError(f"{self.folder}: the phone did not come back; reconnect it and rerun with --resume")

    def _collect_feed_incidents(self) -> None:
        noted: Sequence[tuple[int, str, str]] = getattr(self.feed, "incidents", ())
        for _, kind, _ in noted[self._feed_noted:]:
            self._step_incidents = self._step_incidents.bump(kind)
        self._feed_noted = len(noted)

    # --- bookkeeping ---------------------------------------------------------------------------------
    def _elapsed(self, obs: Observation) -> float:
        return max(0.0, (self.feed.clock.now() - obs.shown_at).total_seconds())

    def _time(self, step: Step, decision: Decision, started: float, dwell_wall: float) -> None:
        actual = self._elapsed_until_next(step)
        timing = StepTiming(step.index, decision.watch_s, actual, decision.latency_s,
                            max(0.0, time.perf_counter() - started - dwell_wall))
        self.timings.append(timing)
        with (self.folder / TIMING_FILE).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"index": timing.index, "decided_s": timing.decided_s, "actual_s": timing.actual_s,
                                     "latency_s": timing.latency_s, "overhead_s": round(timing.overhead_s, 6)}) + "\n")

    def _elapsed_until_next(self, step: Step) -> float:
        shown = self._obs.shown_at if self._obs is not None else self.feed.clock.now()
        return max(0.0, (shown - step.appeared_at).total_seconds())


def _observation_of(step: Step, like: Observation) -> Observation:
    return replace(like, meta=step.meta, screen="ad" if step.meta.is_ad else "live" if step.meta.is_live else like.screen)


def run_session(feed: Feed, policy: Policy, persona: PersonaLike, steps: int, out_folder: str | Path, *,
                header: TraceHeader, seed: int = 0, resume: bool = False, options: RunnerOptions | None = None,
                categorise: Categorise | None = None, progress: Callable[[int], None] | None = None) -> RunStats:
    """Run one session to `steps` steps and write its Trace (checkpointed per step; see the module docstring)."""
    runner = SessionRunner(feed, policy, persona, out_folder, header=header, steps=steps, seed=seed, resume=resume,
                           options=options, categorise=categorise)
    return runner.run(progress)


def run_interleaved(runners: Sequence[SessionRunner], progress: Callable[[int], None] | None = None) -> list[RunStats]:
    """Step several sessions in lock-step (a persona and its control account on one sandbox, 'same time')."""
    try:
        while any(not r.done for r in runners):
            for runner in runners:
                if runner.step() is not None and progress:
                    progress(1)
    except BaseException:
        for runner in runners:
            runner.writer.close()
        raise
    return [r.finish() for r in runners]


def steps_in(folder: Path) -> int:
    """How many complete steps a trace folder holds (0 when it has none yet)."""
    path = folder / STEPS_FILE
    if not path.is_file():
        return 0
    with path.open("rb") as handle:  # streamed: a long audit's steps file is never read whole
        return sum(1 for line in handle if line.endswith(b"\n") and line.strip())
