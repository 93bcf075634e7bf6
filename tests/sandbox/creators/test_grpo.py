"""GRPO creator fine-tuning: the simulated-utility reward, prompts, and LoRA training of a tiny model via the CLI."""

from __future__ import annotations

import copy
import doctest
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import sandbox.creators.grpo as grpo_module
from sandbox.catalogue import ItemDraft
from sandbox.creators.cli import register_creator_commands
from sandbox.creators.grpo import (
    TrainCreatorConfig,
    UtilityEstimator,
    make_utility_reward,
    platform_world,
    prompt_rows,
)
from sandbox.creators.llm import GenreResolver


@pytest.fixture(scope="module")
def world():
    return platform_world(TrainCreatorConfig(users=300, creators=4, warmup_steps=2, seed=1))


def test_utility_follows_population_demand_and_skill(world):
    controlled = copy.deepcopy(world)
    genres = controlled.catalogue.taxonomy.top_level
    loved = genres.index("Food")
    controlled.users.preferences[:] = 1e-6
    controlled.users.preferences[:, loved] = 1.0
    controlled.true_skill[0][:] = 1.0
    controlled.true_skill[1][:] = 0.2
    estimator = UtilityEstimator(controlled)
    food, cars = ItemDraft(("Food",), "noodles"), ItemDraft(("Automotive",), "drift")
    assert estimator.utility(food, 0) > estimator.utility(cars, 0) >= 0.0
    assert estimator.utility(food, 0) > estimator.utility(food, 1)
    ceiling = (1.0 + 5.0) * sum(0.9 ** h for h in range(5))  # every user reached and clicking, every step
    assert 0.0 < estimator.utility(food, 0) <= ceiling


def test_reward_scores_valid_items_by_utility_and_penalises_the_rest(world):
    estimator = UtilityEstimator(world)
    reward = make_utility_reward(estimator, GenreResolver(world.catalogue.taxonomy), invalid_reward=-1.0)
    good = json.dumps({"title": "Cat nap", "genre": "Animals/Cats", "tags": ["cat"], "description": "zzz"})
    off_plan = json.dumps({"title": "Drift", "genre": "Automotive", "tags": [], "description": ""})
    half = '{"title": "no closing brace'
    scores = reward([good, [{"role": "assistant", "content": good}], off_plan, half, "plain words"],
                    creator_id=[1] * 5, planned_genre=["Animals"] * 5)
    assert scores[0] == scores[1] == pytest.approx(estimator.utility(ItemDraft(("Animals", "Cats"), "Cat nap"), 1))
    assert scores[2] < 0 and scores[4] == -1.0 < scores[3] < 0  # partial JSON earns a little over plain words
    free = make_utility_reward(estimator, GenreResolver(world.catalogue.taxonomy), require_plan=False)
    assert free([off_plan], creator_id=[1], planned_genre=["Animals"])[0] >= 0.0


def test_prompts_carry_creator_and_plan_and_only_own_items(world):
    rows = prompt_rows(world, 8, 3, seed=0)
    assert len(rows) == 8 and {r["creator_id"] for r in rows} == {0, 1, 2, 3}
    for row in rows:
        text = row["prompt"][-1]["content"]
        assert "Plan: " in text and row["planned_genre"] in world.catalogue.taxonomy.top_level
        own = {c.title for c in world.memories[row["creator_id"]].creations}
        shown = [line.split('"title": "')[1].split('"')[0] for line in text.splitlines() if '"title": "' in line]
        assert shown and set(shown) <= own


def test_config_checks_generation_batch_divisibility():
    with pytest.raises(ValueError, match="multiple of num_generations"):
        TrainCreatorConfig(batch_size=6, num_generations=4)
    with pytest.raises(ValueError, match="num_generations must be >= 2"):
        TrainCreatorConfig(num_generations=1, batch_size=2)


def test_module_doctests():
    assert doctest.testmod(grpo_module).failed == 0



def test_train_creator_command_changes_lora_weights_on_the_tiny_model(tmp_path: Path):
    from safetensors.torch import load_file

    app = typer.Typer()
    register_creator_commands(app)
    app.command("noop")(lambda: None)  # a second command keeps typer from collapsing the group
    out = tmp_path / "grpo"
    result = CliRunner().invoke(app, [
        "train-creator", "--model", "tiny", "--steps", "2", "--out", str(out), "--users", "100", "--creators", "2",
        "--device", "cpu", "--set", "prompts=4", "--set", "max_completion_length=24", "--set", "learning_rate=0.01",
        "--set", "warmup_steps=1"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert summary["steps"] == 2 and len(summary["rewards"]) == 2 and summary["lora_change"] > 0
    weights = load_file(out / "adapter" / "adapter_model.safetensors")
    lora_b = [w for name, w in weights.items() if "lora_B" in name]
    # peft starts every lora_B at zero, so any non-zero entry was learned
    assert lora_b and any(float(w.abs().sum()) > 0 for w in lora_b)
    assert "trained 2 step(s)" in result.output


def test_train_creator_command_rejects_a_missing_model(tmp_path: Path):
    app = typer.Typer()
    register_creator_commands(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["train-creator", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "o"),
                                      "--users", "20", "--creators", "1", "--set", "warmup_steps=1"])
    assert result.exit_code == 2 and "nothing is downloaded" in result.output
