"""load_policy specs and category preferences of the statistical policy (learned, stated, reversed)."""

from __future__ import annotations

import json

import pytest

from personas.persona import Persona, Trait
from personas.policy import PolicySpecError, SimplePersona, load_policy
from personas.policy.statistical import CategoryPreferences, StatisticalPolicy, StatisticalPolicyConfig
from recorder.feed import Observation
from recorder.trace import Category, Trace
from tests.builders import T0, make_header, make_step
from tests.personas.policy.test_statistical import persona_trace

TOPS = ("Food", "Gaming", "Knowledge", "Music", "Sports")


def card_persona() -> Persona:
    traits = {name: Trait(name, level) for name, level in [("content_vs_creator", "content"),
              ("emotion_regulation", "medium"), ("novelty_tolerance", "low"), ("social_sensitivity", "low")]}
    narrative = ("I watch cooking and food videos every evening. I love football and sports highlights. "
                 "I never watch gaming streams, they are boring.")
    return Persona("P09", narrative, traits)


def uncategorised_trace() -> Trace:
    return Trace(make_header("u", persona_id="P09", collector="P09"),
                 tuple(make_step(i, 5.0 + i % 7, category=None) for i in range(30)))


def _favoured(policy: StatisticalPolicy, persona) -> list[str]:
    """Categories ranked by predicted watch time then like (no own views of any: preferences decide)."""
    scored = []
    for top in TOPS:
        decision = policy.act(persona, Observation(0, T0, category=Category((top,))), [])
        scored.append((decision.watch_s, decision.like, top))
    return [top for *_, top in sorted(scored, reverse=True)]


def test_statistical_spec_fits_on_traces_and_rejects_bad_options():
    policy = load_policy("statistical", SimplePersona("P01"), traces=[persona_trace()])
    assert isinstance(policy, StatisticalPolicy) and policy.preferences.source == "traces"
    assert policy.preferences.favourites(1) == ("Food",) and policy.preferences.get("Games") < 0
    with pytest.raises(PolicySpecError, match="traces"):
        load_policy("statistical", SimplePersona("P01"))
    with pytest.raises(PolicySpecError, match="unknown option"):
        load_policy("statistical", SimplePersona("P01"), traces=[persona_trace()], colour="red")
    with pytest.raises(PolicySpecError, match="not a known kind"):
        load_policy("no-such-policy", SimplePersona("P01"))
    with pytest.raises(PolicySpecError, match="http:<model>@<base_url>"):
        load_policy("http:only-a-model", SimplePersona("P01"))


def test_statistical_spec_loads_a_saved_model(tmp_path):
    fitted = load_policy("statistical", SimplePersona("P01"), traces=[persona_trace()])
    assert isinstance(fitted, StatisticalPolicy)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(fitted.model.to_dict()), encoding="utf-8")
    loaded = load_policy(f"statistical:{path}", SimplePersona("P01"))
    assert isinstance(loaded, StatisticalPolicy) and loaded.model == fitted.model


def test_card_preferences_steer_uncategorised_persona_and_reversal_flips_them():
    persona = card_persona()
    prefs = CategoryPreferences.from_card(persona)
    assert prefs.source == "card" and set(prefs.favourites(2)) == {"Food", "Sports"} and prefs.get("Gaming") < 0
    policy = load_policy("statistical", persona, traces=[uncategorised_trace()],
                         config=StatisticalPolicyConfig(point="median", recent_weight=0.0))
    assert isinstance(policy, StatisticalPolicy)
    ranked, flipped = _favoured(policy, persona), _favoured(policy.reversed(), persona)
    assert set(ranked[:2]) == {"Food", "Sports"} and ranked[-1] == "Gaming"
    assert flipped[0] == "Gaming" and set(flipped[-2:]) == {"Food", "Sports"}
    assert set(ranked[:2]).isdisjoint(flipped[:2])


def test_preferences_validate_their_values():
    with pytest.raises(ValueError, match=r"affinity\['Food'\]"):
        CategoryPreferences({"Food": 2.0}, "card")
    assert CategoryPreferences({"Food": 0.5}).reversed().get("Food") == -0.5
