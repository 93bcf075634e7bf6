"""Options of a sandbox run: one frozen dataclass loadable from YAML plus `--set` overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from personas.models.factory import ChatModelConfig
from sandbox.creators.memory import MemoryConfig
from sandbox.llm_users import LLMUserConfig
from sandbox.profiles import Knobs, ProfileConfig
from sandbox.recommenders.registry import RecommenderOptions
from sandbox.users import UserConfig


@dataclass(frozen=True)
class UtilityWeights:
    """Weights of the users' utility metric (utility_per_user) per click, like, comment and share."""

    click: float = 1.0
    like: float = 2.0
    comment: float = 3.0
    share: float = 3.0

    def __post_init__(self) -> None:
        for name in ("click", "like", "comment", "share"):
            if getattr(self, name) < 0:
                raise ValueError(f"utility.{name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class SandboxConfig:
    """A whole sandbox run: world size, policies, recommender, cadence, outputs."""

    seed: int = 0
    steps: int = 50
    users: int = 1000
    creators: int = 50
    creator_policy: str = "best-response"  # random | full-information | best-response | llm | module:Class
    recommender: str = "mf"  # base model + re-rankers, e.g. mf+mmr, pop+fair, din+inertia
    slate_size: int = 5
    candidate_window: int = 10  # steps an item stays in the candidate pool
    log_window: int = 10  # steps of interactions recommenders train on
    retrain_every: int = 5
    checkpoint_every: int = 10
    initial_items: int = 2  # items each creator has published before step 0
    write_logs: bool = True
    out: Path | None = None
    user_kind: str = "statistical"  # statistical | llm (a subset of users decides through a chat model)
    llm_users: int = 0  # with user_kind=llm: how many users the chat model plays (0 = all of them)
    # ground-truth knobs for every simulated user (outside accounts may override them); see sandbox.profiles
    personalisation: float = 1.0  # share of each batch chosen by the model; the rest is random from the pool
    exploration: float = 0.1  # share of the model-driven part drawn from outside the account's profile
    inertia: float = 0.8  # profile memory: 0 = last ~10 videos count, 1 = ~500 videos count
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    utility: UtilityWeights = field(default_factory=UtilityWeights)
    user: UserConfig = field(default_factory=UserConfig)
    llm_user: LLMUserConfig = field(default_factory=LLMUserConfig)
    user_chat: ChatModelConfig = field(default_factory=ChatModelConfig)  # the LLM users' chat backend
    creator_chat: ChatModelConfig = field(default_factory=ChatModelConfig)  # the LLM creators' (creator_policy=llm)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    options: RecommenderOptions = field(default_factory=RecommenderOptions)

    def __post_init__(self) -> None:
        for name in ("steps", "users", "creators", "slate_size", "candidate_window", "log_window", "retrain_every",
                     "checkpoint_every"):
            if getattr(self, name) < (0 if name == "steps" else 1):
                raise ValueError(f"sandbox option {name} must be positive, got {getattr(self, name)}")
        if self.creator_policy not in ("random", "full-information", "best-response", "llm") \
                and ":" not in self.creator_policy:
            raise ValueError(f"creator_policy {self.creator_policy!r}: use random, full-information, best-response, "
                             f"llm or 'module:Class'")
        if self.user_kind not in ("statistical", "llm"):
            raise ValueError(f"user_kind must be 'statistical' or 'llm', got {self.user_kind!r}")
        if not 0 <= self.llm_users <= self.users:
            raise ValueError(f"llm_users must lie in [0, users={self.users}], got {self.llm_users}")
        if self.llm_users and self.user_kind != "llm":
            raise ValueError("llm_users is set but user_kind is 'statistical'; set user_kind=llm to use LLM users")
        if self.initial_items < 0:
            raise ValueError(f"initial_items must be >= 0, got {self.initial_items}")
        Knobs(self.personalisation, self.exploration, self.inertia)  # raises KnobError naming a knob out of range

    @property
    def knobs(self) -> Knobs:
        """The simulated users' knobs."""
        return Knobs(self.personalisation, self.exploration, self.inertia)
