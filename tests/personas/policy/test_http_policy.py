"""The served policy (OpenAI-compatible server, e.g. vLLM with the adapter) sends frames and parses replies."""

from __future__ import annotations

import numpy as np

from personas.policy import SimplePersona, load_policy
from personas.policy.inference import HTTPVLMPolicy
from recorder.feed import Observation
from tests.builders import T0, make_step
from tests.personas.models.conftest import completion, openai_server  # noqa: F401 (fixture)


def test_http_policy_sends_the_frame_and_card_and_parses_the_reply(openai_server):  # noqa: F811
    openai_server.always(200, completion('{"watch_seconds": 7.5, "like": true, "comment": false, "share": false}'))
    persona = SimplePersona("P01")
    policy = load_policy(f"http:persona-lora@{openai_server.base_url}", persona, card="I love cooking videos.")
    assert isinstance(policy, HTTPVLMPolicy)
    frame = np.zeros((60, 40, 3), dtype=np.uint8)
    decision = policy.act(persona, Observation(3, T0, frame=frame), [make_step(0, 4.0)])
    assert decision.watch_s == 7.5 and decision.like and decision.latency_s > 0
    body = openai_server.requests[0]["json"]
    assert body["model"] == "persona-lora"
    parts = body["messages"][1]["content"]
    assert parts[0]["type"] == "image_url" and parts[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert "I love cooking videos." in parts[1]["text"] and "watched 4.0 s" in parts[1]["text"]
    openai_server.always(200, completion("I think I'd scroll on"))
    assert policy.act(persona, Observation(4, T0), []).watch_s == 5.0  # unparseable: fallback, counted
    assert policy.stats.failed == 1 and policy.stats.strict == 1
