"""GRPO rewards for the persona policy: three plain functions `(completions, **columns) -> list[float]`.

TRL passes every dataset column beside the prompt as a keyword list, one value per completion; these read
`watch_s`, `like`, `comment`, `share` (the human's true behaviour). The three are given to GRPOTrainer as
separate reward functions, so TRL logs each under its own name (`rewards/action_reward/mean`, ...) and sums them.

- R_action: F1 between the predicted and the true set of {like, comment, share}; both empty counts 1.0.
- R_duration: 1 - min(1, |d - d_hat| / max(d, 1 s)). The 1 s floor decides d = 0 (and sub-second views): they are
  judged on absolute error in seconds, so a 0 s target is met by 0 s and missed entirely by 1 s or more.
  (Zero-duration entries are excluded from datasets anyway; the floor keeps the reward defined for any data.)
- R_format: 1.0 when the strict grammar parses, 0.5 when only the lenient one does; unparseable text earns up to
  0.25 for the share of the grammar's landmarks it holds (braces, quotes, colon, the four keys): a cold-started
  model gets a gradient towards the grammar instead of a flat zero.
Unparseable completions earn 0 action and duration reward.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from personas.policy.base import Decision
from personas.policy.grammar import parse_reply

ACTIONS = ("like", "comment", "share")
FORMAT_SCORES = {"strict": 1.0, "lenient": 0.5, "failed": 0.0}
LANDMARKS = ("{", "}", '"', ":", "watch_seconds", "like", "comment", "share")
LANDMARK_CREDIT = 0.25


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string, or the content of conversational messages (text parts joined).

    >>> completion_text([{"role": "assistant", "content": [{"type": "text", "text": "hi"}]}])
    'hi'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, (list, tuple)):
        out: list[str] = []
        for message in completion:
            content = message.get("content", "") if isinstance(message, dict) else message
            if isinstance(content, (list, tuple)):
                out.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
            else:
                out.append(str(content))
        return "".join(out)
    return str(completion)


def action_f1(predicted: Decision, like: bool, comment: bool, share: bool) -> float:
    """F1 of the predicted action set against the true one (both empty: 1.0).

    >>> action_f1(Decision(1, like=True, share=True), like=True, comment=False, share=False)
    0.6666666666666666
    """
    guess = {a for a in ACTIONS if getattr(predicted, a)}
    truth = {a for a, flag in zip(ACTIONS, (like, comment, share), strict=True) if flag}
    if not guess and not truth:
        return 1.0
    return 2 * len(guess & truth) / (len(guess) + len(truth))


def duration_score(predicted_s: float, actual_s: float) -> float:
    """1 - min(1, |d - d_hat| / max(d, 1)).

    >>> duration_score(15.0, 10.0), duration_score(0.0, 0.0), duration_score(0.5, 0.0), duration_score(40.0, 10.0)
    (0.5, 1.0, 0.5, 0.0)
    """
    return 1.0 - min(1.0, abs(actual_s - predicted_s) / max(actual_s, 1.0))


def action_reward(completions: Sequence[Any], like: Sequence[bool] = (), comment: Sequence[bool] = (),
                  share: Sequence[bool] = (), **kwargs: Any) -> list[float]:
    """R_action per completion.

    >>> action_reward(['{"watch_seconds": 3, "like": true, "comment": false, "share": false}', "??"],
    ...               like=[True, True], comment=[False, False], share=[False, False])
    [1.0, 0.0]
    """
    out = []
    for i, completion in enumerate(completions):
        decision = parse_reply(completion_text(completion)).decision
        out.append(0.0 if decision is None else action_f1(decision, bool(like[i]), bool(comment[i]), bool(share[i])))
    return out


def duration_reward(completions: Sequence[Any], watch_s: Sequence[float] = (), **kwargs: Any) -> list[float]:
    """R_duration per completion.

    >>> duration_reward(['{"watch_seconds": 15, "like": false, "comment": false, "share": false}', "x"],
    ...                 watch_s=[10.0, 10.0])
    [0.5, 0.0]
    """
    out = []
    for i, completion in enumerate(completions):
        decision = parse_reply(completion_text(completion)).decision
        out.append(0.0 if decision is None else duration_score(decision.watch_s, float(watch_s[i])))
    return out


def format_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """R_format per completion.

    >>> format_reward(['{"watch_seconds": 1, "like": false, "comment": false, "share": false}',
    ...                'ok {"watch_seconds": "2"}', "nothing", '{"like'])
    [1.0, 0.5, 0.0, 0.09375]
    """
    out = []
    for completion in completions:
        text = completion_text(completion)
        mode = parse_reply(text).mode
        if mode == "failed":
            out.append(LANDMARK_CREDIT * sum(mark in text for mark in LANDMARKS) / len(LANDMARKS))
        else:
            out.append(FORMAT_SCORES[mode])
    return out


REWARD_FUNCTIONS = (action_reward, duration_reward, format_reward)
