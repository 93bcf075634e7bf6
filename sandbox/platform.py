"""The sandbox step loop over the world's state (sandbox.world): creators create, the recommender (re)trains and
serves slates, users respond, everyone learns, metric reporters (sandbox.reporters) record each step."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from personas.models.base import ChatModel
from personas.models.factory import build_chat_model
from sandbox import checkpoint as ckpt
from sandbox.catalogue import DraftError, ItemDraft
from sandbox.config import SandboxConfig
from sandbox.creators.base import CreatorPolicy
from sandbox.creators.baselines import BASELINES
from sandbox.creators.llm_exchange import ExchangeLog, RecordingChatModel
from sandbox.llm_users import LLMUsers
from sandbox.profiles import KNOBS, KnobError
from sandbox.reporters import REPORTERS, Reporter, collect
from sandbox.storage import ImpressionLog
from sandbox.users import Responses
from sandbox.world import EXCHANGES, Creator, World

if TYPE_CHECKING:
    from sandbox.feed import SandboxFeed

log = logging.getLogger(__name__)
FEED_OPTIONS = {"clock", "batch_size", "advance_every", "click_watch_s"}  # what open_account passes to SandboxFeed


def make_policy(name: str, config: SandboxConfig | None = None) -> CreatorPolicy:
    """A baseline by name, 'llm' (LLM creators on config.creator_chat, logging to the run's llm_exchanges.jsonl),
    or any CreatorPolicy class given as 'module:Class' (built without arguments)."""
    if name == "llm":
        from sandbox.creators.llm import build_llm_creator

        out = config.out if config is not None else None
        return build_llm_creator(config.creator_chat if config is not None else None, out=out)
    return policy_class(name)()


def policy_class(name: str) -> type[CreatorPolicy]:
    """The CreatorPolicy class a creator_policy name stands for, checked before anything is called."""
    if name in BASELINES:
        return BASELINES[name]
    module, _, attr = name.partition(":")
    if not module or not attr:
        raise ValueError(f"creator_policy {name!r}: use one of {', '.join(BASELINES)} or 'module:Class'")
    try:
        target = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"creator_policy {name!r}: cannot import it ({err})") from err
    if not (isinstance(target, type) and issubclass(target, CreatorPolicy)):
        raise ValueError(f"creator_policy {name!r} is not a CreatorPolicy class")
    return target


@dataclass
class StepOutcome:
    """What happened in one step (kept for tests and the feed)."""

    step: int
    users: np.ndarray
    slates: np.ndarray
    responses: Responses
    new_items: list[int] = field(default_factory=list)


class Platform(World):
    """The step loop over a World: creators create, the recommender (re)trains and serves, users respond, everyone
    learns, reporters record the step; `run()` advances it, checkpointing as it goes."""

    def __init__(self, config: SandboxConfig, policies: dict[str, CreatorPolicy] | None = None,
                 user_model: ChatModel | None = None):
        self.policies = policies or {config.creator_policy: make_policy(config.creator_policy, config)}
        super().__init__(config, next(iter(self.policies)), user_model)
        self.observers: list[Callable[[Platform, StepOutcome], None]] = []  # called after every step (e.g. traces)
        self.reporters: dict[str, Reporter] = dict(REPORTERS)  # named metric functions; extend freely
        self.decisions = {"explore": 0, "exploit": 0}  # this step's explicit creator explore/exploit choices
        self.llm_steps: list[dict[str, int]] = []  # per step: LLM user decisions and fallbacks (provenance)
        self._creator_fallbacks = 0
        self.impressions = ImpressionLog(Path(config.out)) if config.out is not None and config.write_logs else None

    def run_step(self) -> StepOutcome:
        """Advance the world by one step and record its metrics."""
        created = self._create()
        # retrain on schedule, and as soon as there is a first log (an untrained model would serve noise for a cycle)
        if len(self.log) and (self.step % self.config.retrain_every == 0 or not self.trained):
            self.pipeline.recommender.fit(self.log, self.context())
            self.trained = True
        active = np.flatnonzero(self.rng.random(self.users.n) < self.config.user.activity)
        slates = self.serve(active, self.config.slate_size)
        before = dict(getattr(self.users, "stats", {}))
        if isinstance(self.users, LLMUsers) and isinstance(self.users.model, RecordingChatModel):
            with self.users.model.tagged(agent="user", step=self.step):
                responses = self._respond(active, slates)
        else:
            responses = self._respond(active, slates)
        llm_creators = [p for p in self.policies.values() if hasattr(p, "fallbacks")]
        if isinstance(self.users, LLMUsers) or llm_creators:  # provenance: LLM decisions that fell back
            after = getattr(self.users, "stats", {})
            self.llm_steps.append({
                "decisions": int(after.get("decisions", 0) - before.get("decisions", 0)),
                "fallbacks": int(after.get("fallbacks", 0) - before.get("fallbacks", 0)),
                "creator_fallbacks": sum(int(p.fallbacks) for p in llm_creators) - self._creator_fallbacks})
            self._creator_fallbacks = sum(int(p.fallbacks) for p in llm_creators)
        self.record(active, slates, responses)
        self.users.update(active, np.maximum(slates, 0), responses, self.catalogue)
        self._creator_feedback(slates, responses)
        outcome = StepOutcome(self.step, active, slates, responses, created)
        self.history.append(collect(self, outcome, self.reporters))
        for observer in self.observers:
            observer(self, outcome)
        if self.impressions is not None:
            self.impressions.add(self.step, self._log_columns(outcome))
        self.step += 1
        return outcome

    def _create(self) -> list[int]:
        groups: dict[str, list[Creator]] = {}
        for creator in self.creators:
            if self.rng.random() < creator.memory.activity_probability(self.step):
                groups.setdefault(creator.policy_key, []).append(creator)
        interest = self.users.demand()
        new: list[int] = []
        self.decisions = {"explore": 0, "exploit": 0}
        for key, members in groups.items():
            policy = self.policies[key]
            views = [c.memory.view(self.step, interest if policy.needs_platform_interest else None) for c in members]
            for creator, draft in zip(members, policy.decide_batch(views, self.rng)):
                new.extend(self._accept(creator, draft))
        return new

    def _accept(self, creator: Creator, draft: ItemDraft | None) -> list[int]:
        if draft is None:
            return []
        try:
            item = self._publish(creator, draft, self.step)
        except DraftError as err:
            log.warning("creator %d: draft rejected: %s", creator.profile.creator_id, err)
            return []
        if draft.explore is not None:
            self.decisions["explore" if draft.explore else "exploit"] += 1
        return [item]

    def _respond(self, users: np.ndarray, slates: np.ndarray) -> Responses:
        responses = self.users.respond(users, np.maximum(slates, 0), self.catalogue, self.rng)
        missing = slates < 0
        for name in ("viewed", "clicked", "liked", "commented", "shared"):
            getattr(responses, name)[missing] = False
        responses.watch_s[missing] = 0.0
        return responses

    def _creator_feedback(self, slates: np.ndarray, responses: Responses) -> None:
        shown = responses.viewed & (slates >= 0)
        item = slates[shown]
        if item.size:
            ids, inverse = np.unique(item, return_inverse=True)
            stats = [np.bincount(inverse, w, len(ids)) for w in (None, responses.clicked[shown],
                                                                  responses.liked[shown], responses.watch_s[shown])]
            owner = self.catalogue.creator[ids]
            order = np.argsort(owner, kind="stable")
            bounds = np.searchsorted(owner[order], np.arange(len(self.creators) + 1))
            for cid in np.unique(owner):
                sel = order[bounds[cid]:bounds[cid + 1]]
                self.creators[cid].memory.observe_feedback(ids[sel], *(s[sel] for s in stats))
        for creator in self.creators:
            if creator.memory.should_exit(self.step + 1):
                creator.memory.exit(self.step)

    # -- metrics and logs ---------------------------------------------------------------------------
    def _log_columns(self, o: StepOutcome) -> dict[str, Any]:
        shown = o.responses.viewed & (o.slates >= 0)
        rows, cols = np.nonzero(shown)
        item = o.slates[rows, cols]
        r = o.responses
        return {"step": np.full(len(item), o.step, np.int32), "user": o.users[rows], "position": cols.astype(np.int8),
                "item": item, "creator": self.catalogue.creator[item], "genre": self.catalogue.genre[item],
                "watch_s": r.watch_s[rows, cols], "clicked": r.clicked[rows, cols], "liked": r.liked[rows, cols],
                "commented": r.commented[rows, cols], "shared": r.shared[rows, cols]}

    # -- running, checkpoints --------------------------------------------------------------------
    def run(self, steps: int | None = None, progress: Callable[[int], None] | None = None) -> list[dict[str, float]]:
        """Run until `steps` (default config.steps) in total, checkpointing every config.checkpoint_every steps."""
        target = self.config.steps if steps is None else steps
        while self.step < target:
            self.run_step()
            if self.config.out is not None and self.step % self.config.checkpoint_every == 0:
                self.checkpoint()
            if progress:
                progress(1)
        return self.history

    def provenance(self) -> dict[str, Any]:
        """What metrics.json records about LLM decisions: per-step decisions and fallbacks of LLM users."""
        if not self.llm_steps:
            return {}
        return {"llm": {"user_decisions_per_step": [s["decisions"] for s in self.llm_steps],
                        "user_fallbacks_per_step": [s["fallbacks"] for s in self.llm_steps],
                        "creator_fallbacks_per_step": [s["creator_fallbacks"] for s in self.llm_steps],
                        "user_fallbacks": int(sum(s["fallbacks"] for s in self.llm_steps)),
                        "creator_fallbacks": int(sum(s["creator_fallbacks"] for s in self.llm_steps)),
                        "exchanges": EXCHANGES}}

    # rebuilt from the run folder on resume, not saved
    NOT_SAVED = ("config", "policies", "observers", "impressions", "reporters", "exchanges")

    def checkpoint(self) -> Path:
        """Write the impressions since the last checkpoint, then the whole state, to out/checkpoint/ (no pickle)."""
        if self.config.out is None:
            raise ValueError("config.out is not set: nowhere to write a checkpoint")
        if self.impressions is not None:
            self.impressions.flush()
        state = {k: v for k, v in self.__dict__.items() if k not in self.NOT_SAVED}
        return ckpt.save(Path(self.config.out), state, {"step": self.step, "seed": self.config.seed,
                                                         "recommender": self.config.recommender})

    @classmethod
    def resume(cls, config: SandboxConfig | Path | str, policies: dict[str, CreatorPolicy] | None = None,
               user_model: ChatModel | None = None) -> Platform:
        """Reload a run's checkpoint: given a run folder, under its own saved config.yaml; given a config, from
        config.out under that config (steps may be extended). Policies and the LLM users' model are rebuilt from
        the config unless given."""
        if not isinstance(config, SandboxConfig):
            from sandbox.runs import saved_config

            config = saved_config(Path(config))
        if config.out is None:
            raise ValueError("config.out is not set: nowhere to resume from")
        state, _ = ckpt.load(Path(config.out))
        platform = cls.__new__(cls)
        platform.__dict__.update(state)
        platform.config, platform.observers, platform.reporters = config, [], dict(REPORTERS)
        platform.policies = policies or {k: make_policy(k, config) for k in {c.policy_key for c in platform.creators}}
        platform.exchanges = ExchangeLog(Path(config.out) / EXCHANGES)
        platform.impressions = ImpressionLog(Path(config.out)) if config.write_logs else None
        if platform.impressions is not None:
            platform.impressions.truncate(platform.step)
        if isinstance(platform.users, LLMUsers):
            platform.users.model = RecordingChatModel(user_model or build_chat_model(config.user_chat),
                                                      platform.exchanges)
        return platform

    def open_account(self, name: str = "audit", **options: Any) -> SandboxFeed:
        """A SandboxFeed on a fresh outside account; knobs (personalisation, exploration, inertia) default to the
        config's, other options go to SandboxFeed (clock, batch_size, advance_every, click_watch_s)."""
        from sandbox.feed import SandboxFeed

        unknown = sorted(set(options) - set(KNOBS) - FEED_OPTIONS)
        if unknown:
            raise KnobError(f"open_account: unknown option {unknown[0]!r}; knobs: {', '.join(KNOBS)}; "
                            f"feed options: {', '.join(sorted(FEED_OPTIONS))}")
        knobs = self.config.knobs.replace(**{k: options.pop(k) for k in KNOBS if k in options})
        return SandboxFeed(self, name, knobs=knobs, **options)

    def add_policy_group(self, key: str, policy: CreatorPolicy, creator_ids: Sequence[int]) -> None:
        """Make some creators follow another policy (e.g. mix LLM creators into a baseline world)."""
        self.policies[key] = policy
        for cid in creator_ids:
            self.creators[cid].policy_key = key

