"""The reply grammar (strict, lenient, failed) and the three GRPO rewards against hand-computed values."""

from __future__ import annotations

import pytest

from personas.policy import Decision
from personas.policy.grammar import FormatStats, VideoView, build_prompt, format_reply, parse_reply
from personas.policy.rewards import action_reward, duration_reward, format_reward
from recorder.trace import Action, VideoMeta
from tests.builders import make_step

GOOD = '{"watch_seconds": 12.5, "like": true, "comment": false, "share": false}'


@pytest.mark.parametrize("text, mode, watch, like", [
    (GOOD, "strict", 12.5, True),
    ('{"watch_seconds": 3, "like": false, "comment": true, "share": false, "comment_text": "ha"}', "strict", 3.0, False),
    ('```json\n{"watch_seconds": 4, "like": "yes", "comment": 0}\n```', "lenient", 4.0, True),
    ("{'watch_seconds': 7.5, 'like': True,}", "lenient", 7.5, True),
    ('{"watch_seconds": "about 9s", "like": "no", "share": "true"}', "lenient", 9.0, False),
    ("I would watch_seconds: 6 and move on", "lenient", 6.0, False),
    ('{"watch_seconds": 5, "like": true, "comment": false, "share": false, "mood": "x"}', "lenient", 5.0, True),
])
def test_parser_accepts_strict_and_repairs_lenient(text, mode, watch, like):
    parsed = parse_reply(text)
    assert parsed.mode == mode and parsed.decision is not None
    assert parsed.decision.watch_s == watch and parsed.decision.like is like


@pytest.mark.parametrize("text", ["", "no idea", '{"like": true}', '{"watch_seconds": -3}', "{{{{", None,
                                  '{"watch_seconds": "NaN"}', '{"watch_seconds": null, "like": true}'])
def test_parser_counts_malformed_output_without_raising(text):
    stats = FormatStats()
    parsed = parse_reply(text)
    stats.add(parsed)
    assert parsed.mode == "failed" and parsed.decision is None and stats.failure_rate() == 1.0


def test_strict_rejects_comment_text_without_comment_and_round_trips_format():
    assert parse_reply('{"watch_seconds": 1, "like": false, "comment": false, "share": false, '
                       '"comment_text": "hi"}').mode == "lenient"
    decision = Decision(3.21, like=True, comment=True, comment_text="好看")
    assert parse_reply(format_reply(decision)).decision == decision
    flagged = Decision(1.5, follow=True, not_interested=True)
    assert parse_reply(format_reply(flagged)) == type(parse_reply(format_reply(flagged)))(flagged, "strict")
    assert parse_reply('{"watch_seconds": 1, "like": false, "comment": false, "share": false, "follow": "yes"}').mode \
        == "lenient"


def test_prompt_holds_card_history_frames_and_metadata():
    history = [make_step(i, 4.0 + i, actions=(Action("like"),) if i == 1 else ()) for i in range(8)]
    view = VideoView(VideoMeta(author="chef", caption="Noodles #food", hashtags=("food",), like_count=5),
                     "Food/Cooking", "boil water", n_frames=2)
    prompt = build_prompt("I am a night owl.", history, view, history_len=3)
    assert prompt.n_images == 2 and "I am a night owl." in prompt.user and "author: chef" in prompt.user
    assert prompt.user.count("-> watched") == 3 and "watched 11.0 s" in prompt.user
    content = prompt.trl_messages()[1]["content"]
    assert [p["type"] for p in content] == ["image", "image", "text"]
    messages = prompt.chat_messages([b"\xff\xd8jpeg"])
    assert messages[1].has_images and "Current video" in messages[1].text


def test_rewards_match_hand_computed_values():
    completions = [GOOD,
                   '{"watch_seconds": 20, "like": true, "comment": false, "share": true}',
                   '{"watch_seconds": 0.4, "like": false, "comment": false, "share": false}',
                   [{"role": "assistant", "content": "oops"}]]
    truth = dict(watch_s=[10.0, 10.0, 0.0, 5.0], like=[True, False, False, True],
                 comment=[False, False, False, False], share=[False, True, False, False])
    assert action_reward(completions, **truth) == [1.0, pytest.approx(2 / 3), 1.0, 0.0]
    # |10-12.5|/10 = 0.25; |10-20|/10 = 1 -> 0; d = 0 uses the 1 s floor: 1 - 0.4 = 0.6; unparseable 0
    assert duration_reward(completions, **truth) == [0.75, 0.0, pytest.approx(0.6), 0.0]
    assert format_reward(completions, **truth) == [1.0, 1.0, 1.0, 0.0]
