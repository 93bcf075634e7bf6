"""A scripted stand-in for every chat task of the interview (interviewer, judge, interviewee, synthesiser)."""

from __future__ import annotations

import json
import re

from personas.interview.prompts import TASK_JUDGE, TASK_QUESTION
from personas.interview.simulated import TASK_ANSWER, TRAIT_STATEMENTS
from personas.models import Message
from personas.synthesis import TASK_SYNTHESISE

# Which trait each outline section mostly reveals (how the scripted interviewee picks what to say).
SECTION_TRAITS = {
    "usage_context": "emotion_regulation", "content_preferences": "content_vs_creator",
    "creator_affinity": "content_vs_creator", "attention": "novelty_tolerance",
    "engagement_logic": "social_sensitivity", "exploration": "novelty_tolerance",
    "emotion_regulation": "emotion_regulation", "avoidance": "novelty_tolerance", "self_reflection": "social_sensitivity",
}


def interviewer_reply(prompt: str, retry: int = 0) -> str:
    """A new question for the section named in the prompt, built on one of its goals, citing the contrast hint."""
    section = re.search(r"^Section: .* \((\w+)\)$", prompt, re.M).group(1)
    goals = re.findall(r"^- (.*)$", prompt.split("Goals of this section:", 1)[1].split("Question directions:", 1)[0], re.M)
    asked = prompt.split("Questions already asked", 1)[1].split("Answers in this section", 1)[0]
    number = asked.count("\n- ") - asked.count("(none yet)")
    hint = re.search(r"A contrast you may use: (.*)\.\n", prompt)
    lead = f"Earlier {hint.group(1)}. " if hint and number % 2 == 0 else ""
    goal = goals[(number + retry) % len(goals)]
    question = f"{lead}[{section}] Tell me {goal}?"
    return json.dumps({"question": question, "cites": ["E1", "E2"] if lead else []})


def judge_reply(prompt: str) -> str:
    """Goals met once a section has two answers."""
    return json.dumps({"goals_met": prompt.count("\nA: ") >= 2, "missing": []})


def interviewee_reply(messages: list[Message]) -> str:
    """Say the role prompt's statement for the trait the question's section reveals."""
    role = messages[0].text
    section = re.search(r"\[(\w+)\]", messages[-1].text)
    trait = SECTION_TRAITS.get(section.group(1) if section else "", "")
    said = [text for level, text in TRAIT_STATEMENTS.get(trait, {}).items() if text in role]
    return " ".join(said) or "I just scroll, honestly."


def synthesiser_reply(prompt: str) -> str:
    """Levels read back from the statements found in the transcript's answers, each with its quote."""
    traits = {}
    for turn, answer in re.findall(r"\[turn (\d+)\] Q: .*\nA: (.*)", prompt):
        for name, levels in TRAIT_STATEMENTS.items():
            for level, text in levels.items():
                if text in answer and name not in traits:
                    traits[name] = {"level": level, "rationale": "said so", "quotes": [{"turn": int(turn), "text": text}]}
    narrative = "I watch short videos my own way: " + " ".join(t["quotes"][0]["text"] for t in traits.values())
    return json.dumps({"narrative": narrative, "traits": traits})


def responder(messages: list[Message]) -> str:
    """Dispatch on the TASK line of the last user message."""
    position = max(i for i, m in enumerate(messages) if m.role == "user" and m.text.startswith("TASK:"))
    prompt, retries = messages[position].text, len(messages) - 1 - position
    if prompt.startswith(TASK_QUESTION):
        return interviewer_reply(prompt, retries // 2)
    if prompt.startswith(TASK_JUDGE):
        return judge_reply(prompt)
    if prompt.startswith(TASK_ANSWER):
        return interviewee_reply(messages)
    if prompt.startswith(TASK_SYNTHESISE):
        return synthesiser_reply(prompt)
    raise AssertionError(f"unexpected prompt: {prompt[:120]!r}")
