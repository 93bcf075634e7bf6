"""GRPO fine-tuning (TRL + LoRA) of the creator's fast thinker, rewarded by simulated platform utility."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from personas.models.json_mode import JSONExtractError, extract_json_object
from personas.models.training import TINY, bf16_ok, build_tiny_causal_lm, lora_change, lora_state, use_cpu
from recorder.categorise import GenreResolver
from sandbox.catalogue import Catalogue, DraftError, ItemDraft
from sandbox.config import SandboxConfig
from sandbox.creators.base import CreatorView
from sandbox.creators.llm import fast_messages, fast_validator, retrieve_own_examples, rule_decision
from sandbox.creators.memory import CreatorMemory
from sandbox.llm_users import LLMUsers
from sandbox.platform import Platform
from sandbox.users import StatisticalUsers

logger = logging.getLogger(__name__)

RewardFunc = Callable[..., list[float]]
_ITEM_KEYS = ('"title"', '"genre"', '"tags"', '"description"')


@dataclass(frozen=True)
class TrainCreatorConfig:
    """Options of `sandbox train-creator`: model, world, reward and GRPO/LoRA settings."""

    model: str = TINY  # a local Hugging Face model directory, or 'tiny' (random model built in code)
    out: Path = Path("runs/creator-grpo")
    steps: int = 20
    seed: int = 0
    users: int = 500
    creators: int = 8
    warmup_steps: int = 3  # sandbox steps that give creators own history before training (fresh world)
    recommender: str = "pop"  # recommender of the fresh warm-up world
    run: Path | None = None  # a sandbox run folder with checkpoint.pkl: train against its current world
    prompts: int = 32
    num_generations: int = 4
    batch_size: int = 4  # completions per device step (a multiple of num_generations)
    max_completion_length: int = 96
    learning_rate: float = 5e-5
    temperature: float = 1.0
    beta: float = 0.0  # KL weight; 0 skips the reference model
    lora_r: int = 8
    lora_alpha: int = 16
    lora_targets: str = "all-linear"
    exposure_weight: float = 1.0
    click_weight: float = 5.0
    horizon: int = 5  # steps an item earns utility while fresh
    discount: float = 0.9
    slate_size: int = 5
    invalid_reward: float = -1.0
    require_plan: bool = True  # an item outside the slow thinker's planned genre counts as invalid
    save_every: int = 10
    device: Literal["auto", "cpu", "cuda"] = "auto"

    def __post_init__(self) -> None:
        for name in ("steps", "users", "creators", "warmup_steps", "prompts", "num_generations", "batch_size",
                     "max_completion_length", "lora_r", "horizon", "slate_size", "save_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"train-creator: {name} must be >= 1, got {getattr(self, name)}")
        if self.num_generations < 2:
            raise ValueError("train-creator: num_generations must be >= 2 (GRPO compares completions of one prompt)")
        if self.batch_size % self.num_generations:
            raise ValueError(f"train-creator: batch_size ({self.batch_size}) must be a multiple of "
                             f"num_generations ({self.num_generations})")
        if not 0.0 < self.discount <= 1.0 or self.invalid_reward > 0:
            raise ValueError("train-creator: discount must lie in (0, 1] and invalid_reward must be <= 0")


# ---------------------------------------------------------------- the world the reward simulates


@dataclass
class CreatorWorld:
    """A snapshot of the platform: users, catalogue, creators' memories, true skills and the current step."""

    users: StatisticalUsers | LLMUsers
    catalogue: Catalogue
    memories: list[CreatorMemory]
    true_skill: dict[int, np.ndarray]  # per creator id, per genre (the platform's ground truth, never shown to creators)
    step: int

    def views(self) -> list[CreatorView]:
        """Each active creator's own view (no platform-wide data)."""
        return [m.view(self.step) for m in self.memories if m.active]

    def expected_quality(self, creator: int, genre: int) -> float:
        """Mean quality the platform draws for this creator's next item in `genre` (skill + a little practice)."""
        memory = next(m for m in self.memories if m.profile.creator_id == creator)
        practice = sum(1 for c in memory.creations if c.genre == genre)
        return float(np.clip(self.true_skill[creator][genre] + PRACTICE_GAIN * min(practice, 10), 0.0, 1.0))


PRACTICE_GAIN = 0.01  # quality gained per own item in a genre (up to 10), as sandbox.platform publishes


def world_from_platform(platform: Platform) -> CreatorWorld:
    """The current state of a running (or resumed) sandbox platform, as the reward's simulation world."""
    return CreatorWorld(platform.users, platform.catalogue, [c.memory for c in platform.creators],
                        {c.profile.creator_id: np.asarray(c.true_skill) for c in platform.creators}, platform.step)


def platform_world(config: TrainCreatorConfig) -> CreatorWorld:
    """The world to train against: a resumed run (config.run), or a fresh seeded platform after warm-up steps."""
    if config.run is not None:
        return world_from_platform(Platform.resume(config.run))
    sandbox = SandboxConfig(seed=config.seed, steps=config.warmup_steps, users=config.users,
                            creators=config.creators, recommender=config.recommender, write_logs=False)
    platform = Platform(sandbox)
    platform.run()
    return world_from_platform(platform)


class UtilityEstimator:
    """Delayed platform utility of a candidate item: exposure + weighted clicks under the current population.

    An item reaches a user when its engage probability would rank it into that user's top `slate_size` among
    the fresh pool (an ideal recommender); it then earns `exposure_weight` per reach and `click_weight` per
    expected click, for `horizon` steps discounted by `discount`, normalised per user.
    """

    def __init__(self, world: CreatorWorld, slate_size: int = 5, exposure_weight: float = 1.0,
                 click_weight: float = 5.0, horizon: int = 5, discount: float = 0.9, pool_window: int = 10) -> None:
        self.world = world
        self.weights = (exposure_weight, click_weight)
        self.lifetime = float(sum(discount ** h for h in range(horizon))) * world.users.config.activity
        self._every = np.arange(world.users.n)
        pool = world.catalogue.recent(world.step, pool_window)
        self._threshold = self._kth_best(pool, slate_size)
        self._scratch = Catalogue(world.catalogue.taxonomy, capacity=1)

    def _kth_best(self, pool: np.ndarray, k: int) -> np.ndarray:
        """Each user's k-th highest engage probability over the pool (0 when the pool has fewer items)."""
        if len(pool) < k:
            return np.zeros(len(self._every))
        p = self.world.users.engage_probability(self._every, np.broadcast_to(pool, (len(self._every), len(pool))),
                                                self.world.catalogue)
        return np.partition(p, len(pool) - k, axis=1)[:, len(pool) - k]

    def utility(self, draft: ItemDraft, creator: int) -> float:
        """Expected discounted utility per user of publishing `draft` as creator `creator` now."""
        genre, _ = self.world.catalogue.resolve(draft)
        self._scratch.genre[0], self._scratch.quality[0] = genre, self.world.expected_quality(creator, genre)
        items = np.zeros((len(self._every), 1), np.int64)
        p = self.world.users.engage_probability(self._every, items, self._scratch)[:, 0]
        reached = p >= self._threshold
        per_step = self.weights[0] * reached.mean() + self.weights[1] * (p * reached).mean()
        return float(per_step * self.lifetime)


# ---------------------------------------------------------------- rewards


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a plain string, or the content of a conversational message list.

    >>> completion_text("abc"), completion_text([{"role": "assistant", "content": "xyz"}])
    ('abc', 'xyz')
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, (list, tuple)):
        return "".join(str(m.get("content", "")) for m in completion if isinstance(m, dict))
    return str(completion)


def format_score(text: str) -> float:
    """Share of the item JSON's landmarks (braces, quote, colon, the four keys) present in `text`, in [0, 1].

    >>> format_score('{"title": "a", "genre": "b", "tags": [], "description": ""}')
    1.0
    >>> format_score("hello")
    0.0
    """
    marks = ("{" in text, "}" in text, '"' in text, ":" in text, *(key in text for key in _ITEM_KEYS))
    return sum(marks) / len(marks)


def parse_item(text: str, resolver: GenreResolver, planned_top: str | None = None) -> ItemDraft | None:
    """The completion as an ItemDraft, or None when it is not a valid item (in the planned genre, if given)."""
    try:
        obj = extract_json_object(text)
        fast_validator(resolver, planned_top or resolver.resolve(obj.get("genre"))[0])(obj)
        tags = tuple(str(t) for t in obj.get("tags", []))
        return ItemDraft(resolver.resolve(obj["genre"]), str(obj["title"]), tags, str(obj.get("description", "")))
    except (JSONExtractError, ValueError, TypeError, KeyError, DraftError):
        return None


def make_utility_reward(estimator: UtilityEstimator, resolver: GenreResolver, invalid_reward: float = -1.0,
                        require_plan: bool = True) -> RewardFunc:
    """The GRPO reward: a parsed item's simulated utility; an unusable completion gets a low, format-graded reward.

    The returned function reads the dataset columns `creator_id` and `planned_genre` from its kwargs.

    >>> world = platform_world(TrainCreatorConfig(users=50, creators=2, warmup_steps=1))
    >>> reward = make_utility_reward(UtilityEstimator(world), GenreResolver(world.catalogue.taxonomy))
    >>> good = '{"title": "Cat nap", "genre": "Animals/Cats", "tags": ["cat"], "description": "zzz"}'
    >>> scores = reward([good, "garbage"], creator_id=[0, 0], planned_genre=["Animals", "Animals"])
    >>> scores[0] >= 0.0 > scores[1] >= -1.0
    True
    """

    def creator_utility_reward(completions: Sequence[Any], creator_id: Sequence[int] = (),
                               planned_genre: Sequence[str] = (), **kwargs: Any) -> list[float]:
        rewards = []
        for index, completion in enumerate(completions):
            text = completion_text(completion)
            plan = planned_genre[index] if require_plan and index < len(planned_genre) else None
            draft = parse_item(text, resolver, plan)
            if draft is None:
                rewards.append(invalid_reward * (1.0 - 0.5 * format_score(text)))
            else:
                rewards.append(estimator.utility(draft, int(creator_id[index]) if creator_id else 0))
        return rewards

    return creator_utility_reward


# ---------------------------------------------------------------- prompts dataset


def prompt_rows(world: CreatorWorld, count: int, k: int, seed: int) -> list[dict[str, Any]]:
    """Fast-thinker prompts (chat messages) for the world's creators, each with its planned genre and creator."""
    rng = np.random.default_rng(seed)
    views = world.views()
    if not views:
        raise ValueError("train-creator: no active creator in the world, so there is nothing to prompt")
    rows = []
    for index in range(count):
        view = views[index % len(views)]
        decision = rule_decision(view, rng, epsilon=0.3)
        examples = retrieve_own_examples(view, decision.category, k)
        messages = fast_messages(view, decision, world.catalogue.taxonomy, examples)
        rows.append({"prompt": [{"role": m.role, "content": m.text} for m in messages],
                     "creator_id": view.creator_id, "planned_genre": decision.category[0]})
    return rows


# ---------------------------------------------------------------- tiny model


def tiny_corpus(world: CreatorWorld, n: int = 64, seed: int = 0) -> list[str]:
    """Text to train the tiny tokenizer on: prompts and item JSONs of the world's creators."""
    rows = prompt_rows(world, n, 2, seed)
    texts = [m["content"] for row in rows for m in row["prompt"]]
    for memory in world.memories:
        for record in memory.creations:
            texts.append(json.dumps({"title": record.title, "genre": "/".join(record.category),
                                     "tags": list(record.tags), "description": record.description}, ensure_ascii=False))
    return texts


# ---------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainResult:
    """What a train-creator run produced: the adapter folder, rewards per logged step, LoRA change."""

    adapter: Path
    steps: int
    rewards: tuple[float, ...]
    lora_change: float  # summed absolute change of the LoRA weights over the run


def resolve_model(config: TrainCreatorConfig, world: CreatorWorld | None) -> Path:
    """The model folder to train: the given local directory, or a freshly built tiny model for 'tiny'."""
    if config.model == TINY:
        if world is None:
            raise ValueError("train-creator: building the tiny model needs the world (its tokenizer corpus)")
        folder = config.out / "tiny-model"
        if not (folder / "config.json").is_file():
            build_tiny_causal_lm(folder, tiny_corpus(world, seed=config.seed), seed=config.seed)
        return folder
    folder = Path(config.model).expanduser()
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"train-creator: model {str(folder)!r} is not a local Hugging Face model folder "
                                "(no config.json); pass --model PATH to one, or --model tiny; nothing is downloaded")
    return folder


def grpo_arguments(config: TrainCreatorConfig, cpu: bool) -> Any:
    """TRL GRPOConfig for the run (left padding, no reporting, bf16 only on a GPU that has it)."""
    from trl import GRPOConfig

    bf16 = bf16_ok(cpu)
    return GRPOConfig(
        output_dir=str(config.out / "trainer"), max_steps=config.steps, seed=config.seed,
        per_device_train_batch_size=config.batch_size, num_generations=config.num_generations,
        generation_batch_size=config.batch_size, max_completion_length=config.max_completion_length,
        learning_rate=config.learning_rate, temperature=config.temperature, beta=config.beta,
        report_to="none", use_cpu=cpu, bf16=bf16, fp16=False, logging_steps=1, save_strategy="steps",
        save_steps=config.save_every, save_total_limit=2, gradient_checkpointing=not cpu,
        disable_tqdm=True, shuffle_dataset=True,
    )


def train_creator(config: TrainCreatorConfig, progress: Callable[[int], None] | None = None,
                  resume: bool = False, world: CreatorWorld | None = None) -> TrainResult:
    """Run GRPO on the fast thinker against the simulated population; saves the LoRA adapter under <out>/adapter."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOTrainer

    if config.model != TINY:
        resolve_model(config, None)  # fail on a bad path before the warm-up run
    world = world or platform_world(config)
    folder = resolve_model(config, world)
    cpu = use_cpu(config.device, "train-creator --device")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, padding_side="left")
    if tokenizer.chat_template is None:
        raise ValueError(f"train-creator: the tokenizer in {folder} has no chat template; use an instruct model")
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    estimator = UtilityEstimator(world, config.slate_size, config.exposure_weight, config.click_weight,
                                 config.horizon, config.discount)
    reward = make_utility_reward(estimator, GenreResolver(world.catalogue.taxonomy), config.invalid_reward,
                                 config.require_plan)
    dataset = Dataset.from_list(prompt_rows(world, config.prompts, 3, config.seed))
    logger.info("train-creator: %d prompts from %d creators, world at step %d, %d users",
                len(dataset), len(world.memories), world.step, world.users.n)
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, target_modules=config.lora_targets,
                      lora_dropout=0.0, task_type="CAUSAL_LM")

    class Progress(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if progress is not None:
                progress(1)

    reward_funcs: list[Any] = [reward]  # TRL types reward functions as returning list[float | None]
    trainer = GRPOTrainer(model=model, reward_funcs=reward_funcs, args=grpo_arguments(config, cpu),
                          train_dataset=dataset, processing_class=tokenizer, peft_config=lora,
                          callbacks=[Progress()])
    before = lora_state(trainer.model)
    checkpoint = resume and any((config.out / "trainer").glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if checkpoint else None)
    adapter = config.out / "adapter"
    trained: Any = trainer.model  # the PEFT-wrapped model (TRL's annotation also allows None/Module)
    trained.save_pretrained(adapter)
    tokenizer.save_pretrained(adapter)
    rewards = tuple(float(h["reward"]) for h in trainer.state.log_history if "reward" in h)
    result = TrainResult(adapter, int(trainer.state.global_step), rewards, lora_change(before, lora_state(trainer.model)))
    (config.out / "result.json").write_text(json.dumps(
        {"adapter": str(adapter), "steps": result.steps, "rewards": list(rewards), "lora_change": result.lora_change},
        indent=2), encoding="utf-8")
    return result
