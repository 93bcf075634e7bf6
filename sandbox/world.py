"""The world's state: catalogue, users, creators, profiles, the recommender and the platform's counters, plus the
state transitions every step and every outside account share (serving slates, recording impressions, opening
accounts). The step loop that advances it lives in sandbox.platform; metrics in sandbox.reporters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from personas.models.base import ChatModel
from personas.models.factory import build_chat_model
from sandbox.catalogue import Catalogue, ItemDraft
from sandbox.config import SandboxConfig
from sandbox.creators.base import CreatorProfile
from sandbox.creators.llm_exchange import ExchangeLog, RecordingChatModel
from sandbox.creators.memory import CreatorMemory
from sandbox.llm_users import LLMUsers, pick_llm_users
from sandbox.profiles import Engagement, Knobs, Profiles, mix_slates
from sandbox.recommenders.base import InteractionLog, RecContext, SeenFilter
from sandbox.recommenders.registry import build_pipeline
from sandbox.users import Responses, StatisticalUsers

HISTORY_LEN = 20  # recent clicks the platform keeps per user (DIN attends over them)
HISTORY_DECAY = 0.95  # per-step decay of the platform's per-user genre click counts
EXCHANGES = "llm_exchanges.jsonl"  # every LLM decision of the run, append-only


@dataclass
class Creator:
    """A creator on the platform: profile, memory, true skill (hidden from itself) and whose policy it follows."""

    profile: CreatorProfile
    memory: CreatorMemory
    true_skill: np.ndarray
    policy_key: str


class World:
    """Every piece of the world's state and its seeded RNG (no loop, no policies, no metrics)."""

    def __init__(self, config: SandboxConfig, policy_key: str, user_model: ChatModel | None = None):
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.catalogue = Catalogue()
        g = self.catalogue.n_genres
        self.genres = self.catalogue.taxonomy.top_level
        self.users: StatisticalUsers | LLMUsers = StatisticalUsers(config.users, g, config.user, self.rng)
        # every LLM decision (users and creators) is appended to the run's llm_exchanges.jsonl
        self.exchanges = ExchangeLog(Path(config.out) / EXCHANGES if config.out is not None else None)
        if config.user_kind == "llm":
            ids = pick_llm_users(config.users, config.llm_users or config.users, self.rng)
            model = RecordingChatModel(user_model or build_chat_model(config.user_chat), self.exchanges)
            self.users = LLMUsers(self.users, ids, model, self.genres, config.llm_user)
        self.creators = [self._new_creator(c, policy_key) for c in range(config.creators)]
        self.pipeline = build_pipeline(config.recommender, config.options)
        self.log = InteractionLog(config.log_window)
        self.seen = SeenFilter(config.users)
        self.profiles = Profiles(self.catalogue.genre_offset, self.catalogue.n_paths, config.profile, config.users,
                                 config.knobs)
        self.genre_history = np.zeros((config.users, g), np.float32)
        self.recent_clicks = np.full((config.users, HISTORY_LEN), -1, np.int64)
        self.creator_exposure = np.zeros(config.creators)
        self.creator_clicks = np.zeros(config.creators)
        self.step = 0
        self.trained = False
        self.history: list[dict[str, float]] = []
        self.external: dict[str, int] = {}
        self._seed_catalogue()

    # -- construction -------------------------------------------------------------------------
    def _new_creator(self, cid: int, policy_key: str) -> Creator:
        g = self.catalogue.n_genres
        home = self.rng.choice(g, size=int(self.rng.integers(1, 3)), replace=False)
        skill = self.rng.uniform(0.1, 0.5, g)
        skill[home] = self.rng.uniform(0.5, 0.9, len(home))
        profile = CreatorProfile(cid, f"creator{cid:04d}", f"makes {', '.join(self.genres[h] for h in home)} videos",
                                 tuple(self.genres[h] for h in home), float(self.rng.uniform(0.3, 0.9)),
                                 tuple(np.round(skill, 4)))
        return Creator(profile, CreatorMemory(profile, self.genres, self.config.memory), skill, policy_key)

    def _seed_catalogue(self) -> None:
        for creator in self.creators:
            for _ in range(self.config.initial_items):
                genre = int(self.rng.choice([self.genres.index(h) for h in creator.profile.home_genres]))
                top = self.catalogue.taxonomy.categories[genre]
                draft = ItemDraft((top.name, top.subcategories[0].name), f"{creator.profile.name} intro", (), "", False)
                self._publish(creator, draft, -1)

    def _publish(self, creator: Creator, draft: ItemDraft, step: int) -> int:
        genre, _ = self.catalogue.resolve(draft)
        practice = sum(1 for c in creator.memory.creations if c.genre == genre)
        quality = np.clip(creator.true_skill[genre] + 0.01 * min(practice, 10) + self.rng.normal(0, 0.1), 0, 1)
        duration = float(np.clip(self.rng.lognormal(np.log(20.0), 0.8), 5.0, 300.0))
        item = self.catalogue.add(draft, creator.profile.creator_id, float(quality), duration, step)
        creator.memory.remember_creation(item, step, genre, draft)
        return item

    def context(self) -> RecContext:
        """What recommenders may see now."""
        return RecContext(self.step, self.catalogue, self.n_accounts, len(self.creators), self.genre_history,
                          self.recent_clicks, self.creator_exposure, self.creator_clicks, self.rng, self.profiles)

    @property
    def n_accounts(self) -> int:
        """Simulated users plus external accounts."""
        return self.genre_history.shape[0]

    def serve(self, users: np.ndarray, k: int) -> np.ndarray:
        """Slates for the given accounts from the current candidate pool (unseen items only)."""
        candidates = self.catalogue.recent(self.step, self.config.candidate_window)
        # older items are never candidates again: the seen filter may forget them
        self.seen.ensure(self.n_accounts, self.catalogue.size, int(candidates[0]) if len(candidates) else 0)
        with self.profiles.frozen(users):  # profiles do not change while serving: score them once
            model = self.pipeline.recommend(users, candidates, k, self.context(), self.seen)
            knobs = self.profiles.knobs[users]
            if len(candidates) == 0 or np.all((knobs[:, 0] >= 1.0) & (knobs[:, 1] <= 0.0)):
                return model
            return self._mix(users, model, candidates, knobs)

    def _mix(self, users: np.ndarray, model: np.ndarray, candidates: np.ndarray, knobs: np.ndarray) -> np.ndarray:
        """Random and exploration slots (the knobs) drawn from the unseen pool, the rest from the model."""
        k = model.shape[1]
        draws = candidates[self.rng.integers(len(candidates), size=(len(users), 3 * k))]
        valid = ~self.seen.seen_pairs(users, draws) & ~(draws[:, :, None] == model[:, None, :]).any(2)
        order = np.argsort(draws, axis=1, kind="stable")
        ordered = np.take_along_axis(draws, order, 1)
        repeat = np.zeros_like(valid)
        np.put_along_axis(repeat, order, np.c_[np.zeros((len(users), 1), bool), ordered[:, 1:] == ordered[:, :-1]], 1)
        scores = self.profiles.path_scores(users)
        outside = np.take_along_axis(scores, self.catalogue.paths(draws), 1) <= 0.0
        return mix_slates(model, knobs, outside, draws, valid & ~repeat, self.rng)

    def record(self, users: np.ndarray, slates: np.ndarray, responses: Responses) -> None:
        """Log impressions and update the platform's counters (shared by simulated and external accounts)."""
        shown = responses.viewed & (slates >= 0)
        rows, cols = np.nonzero(shown)
        user, item = users[rows], slates[rows, cols]
        clicked = responses.clicked[rows, cols]
        self.log.add(self.step, user, item, clicked, responses.watch_s[rows, cols])
        self.seen.ensure(self.n_accounts, self.catalogue.size)
        self.seen.mark(user, item[:, None])
        cat, n_items, n_creators = self.catalogue, self.catalogue.size, len(self.creators)
        cat.impressions[:n_items] += np.bincount(item, minlength=n_items)
        cat.clicks[:n_items] += np.bincount(item, clicked, minlength=n_items).astype(np.int64)
        creator = cat.creator[item]
        self.creator_exposure += np.bincount(creator, minlength=n_creators)
        self.creator_clicks += np.bincount(creator, clicked, minlength=n_creators)
        self.genre_history[users] *= HISTORY_DECAY
        g = cat.n_genres
        flat = user[clicked] * g + cat.genre[item[clicked]]
        self.genre_history += np.bincount(flat, minlength=self.n_accounts * g).reshape(-1, g).astype(np.float32)
        self._push_recent(users, np.where(shown & responses.clicked, slates, -1))
        self._update_profiles(users, slates, responses, shown)

    def _update_profiles(self, users: np.ndarray, slates: np.ndarray, r: Responses, shown: np.ndarray) -> None:
        cat = self.catalogue
        items = np.maximum(slates, 0)
        none = np.zeros_like(shown)
        engagement = Engagement(r.watch_s, cat.duration[items], r.liked, r.commented, r.shared,
                                none if r.followed is None else r.followed,
                                none if r.not_interested is None else r.not_interested)
        self.profiles.update(users, cat.paths(items), engagement.value(self.config.profile), shown)
        if r.followed is not None:
            for row, col in zip(*np.nonzero(r.followed & shown)):
                self.profiles.follow(int(users[row]), int(cat.creator[items[row, col]]))

    def _push_recent(self, users: np.ndarray, clicked_items: np.ndarray) -> None:
        # rows hold their clicks oldest to newest after the -1 holes; compact this step's clicks (holes first, slate
        # order kept) and shift each row left by its number of new clicks: no sort over the whole history
        k = clicked_items.shape[1]
        new = np.take_along_axis(clicked_items, np.argsort(clicked_items >= 0, axis=1, kind="stable"), 1)
        count = (clicked_items >= 0).sum(1, keepdims=True)
        merged = np.concatenate([self.recent_clicks[users], new], axis=1)
        j = np.arange(HISTORY_LEN)[None, :]
        self.recent_clicks[users] = np.take_along_axis(merged, np.where(j < HISTORY_LEN - count, j + count, j + k), 1)

    def add_account(self, name: str, knobs: Knobs | None = None) -> int:
        """Open a fresh account whose actions come from outside (an audit); returns its account id."""
        if name in self.external:
            raise ValueError(f"account {name!r} is already open on this platform")
        g = self.catalogue.n_genres
        self.genre_history = np.vstack([self.genre_history, np.zeros((1, g), np.float32)])
        self.recent_clicks = np.vstack([self.recent_clicks, np.full((1, HISTORY_LEN), -1, np.int64)])
        self.profiles.add(knobs or self.config.knobs)
        self.seen.ensure(self.n_accounts, self.catalogue.size)
        self.external[name] = self.n_accounts - 1
        return self.n_accounts - 1

