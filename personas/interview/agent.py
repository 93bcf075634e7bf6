"""The interview agent: model-written questions citing the person's own videos, section by section, resumable."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from personas.analysis import BehaviourFeatures
from personas.interview.outline import Outline, Section, outline_from_dict
from personas.interview.prompts import (
    CitedExample,
    build_catalogue,
    contrast_hint,
    fallback_question,
    find_duplicate,
    judge_messages,
    question_messages,
)
from personas.interview.small_model import (
    STYLES,
    compact_question_messages,
    ensure_fact,
    fix_time_units,
    parse_question,
    question_fact,
    resolve_style,
    task_options,
)
from personas.interview.transcript import (
    FEATURES_FILE,
    OUTLINE_FILE,
    InterviewState,
    TranscriptError,
    TranscriptStore,
    Turn,
    apply_event,
)
from personas.models import ChatModel, GenerationOptions, JSONModeError, chat_json
from personas.models.json_mode import JSONAttempt

log = logging.getLogger(__name__)
MODEL_ERRORS_FILE = "model_errors.jsonl"
_ID_IN_TEXT = re.compile(r"\(?\bE(\d{1,2})\b\)?")


@dataclass(frozen=True)
class InterviewConfig:
    """How the agent asks: JSON retries, duplicate threshold, example count, an optional cap on questions."""

    json_retries: int = 2
    duplicate_threshold: float = 0.8
    max_examples: int = 12
    max_turns: int | None = None
    judge_sections: bool = True
    style: str = "auto"  # "json" (larger models), "compact" (small local models), "auto" (chosen by the backend)
    question_tokens: int = 60  # compact style: token cap of a question
    answer_tokens: int = 80  # compact style: token cap of a simulated interviewee's answer

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}, got {self.style!r}")
        if self.question_tokens < 8 or self.answer_tokens < 8:
            raise ValueError("question_tokens and answer_tokens must be >= 8")
        if not 0 <= self.json_retries <= 10:
            raise ValueError(f"json_retries must lie in [0, 10], got {self.json_retries}")
        if not 0.3 <= self.duplicate_threshold <= 1.0:
            raise ValueError(f"duplicate_threshold must lie in [0.3, 1], got {self.duplicate_threshold}")
        if self.max_examples < 1:
            raise ValueError(f"max_examples must be >= 1, got {self.max_examples}")
        if self.max_turns is not None and self.max_turns < 1:
            raise ValueError(f"max_turns must be >= 1 (or unset), got {self.max_turns}")

    def for_backend(self, backend: str) -> InterviewConfig:
        """This config with 'auto' style resolved for the chat backend (compact for the embedded model)."""
        return replace(self, style=resolve_style(self.style, backend))

    @property
    def compact(self) -> bool:
        """Whether questions use the small-model format (plain text, one worked example, no judging call)."""
        return self.style == "compact"


class InterviewAgent:
    """Drives one interview: asks, saves each answer at once, moves on when goals are met or budgets run out."""

    def __init__(self, model: ChatModel, store: TranscriptStore, outline: Outline, features: BehaviourFeatures,
                 config: InterviewConfig = InterviewConfig(), options: GenerationOptions | None = None) -> None:
        self.model = model
        self.store = store
        self.outline = outline
        self.features = features
        self.config = config
        self.options = options
        self.catalogue: tuple[CitedExample, ...] = build_catalogue(features, config.max_examples)
        self.state: InterviewState = store.replay()

    @classmethod
    def start(cls, model: ChatModel, folder: str | Path, outline: Outline, features: BehaviourFeatures,
              config: InterviewConfig = InterviewConfig(), trace_folders: Sequence[Path] = (),
              options: GenerationOptions | None = None) -> InterviewAgent:
        """Begin a new interview in `folder` (which must not hold one already)."""
        store = TranscriptStore(folder)
        if store.exists():
            raise TranscriptError(f"{store.events_path}: an interview already exists here; resume it "
                                  "(--resume) or choose another --out folder")
        store.write_json(FEATURES_FILE, features.to_dict())
        store.write_json(OUTLINE_FILE, outline.to_dict())
        store.append("started", trace_ids=list(features.trace_ids), trace_folders=[str(f) for f in trace_folders],
                     outline=outline.name, model=getattr(model, "name", type(model).__name__))
        agent = cls(model, store, outline, features, config, options)
        agent._save_state()
        return agent

    @classmethod
    def resume(cls, model: ChatModel, folder: str | Path, config: InterviewConfig = InterviewConfig(),
               options: GenerationOptions | None = None) -> InterviewAgent:
        """Reopen an interrupted interview: same outline and features, every saved answer kept."""
        store = TranscriptStore(folder)
        if not store.exists():
            raise TranscriptError(f"{store.events_path}: no interview to resume; start one without --resume")
        features = BehaviourFeatures.from_dict(store.read_json(FEATURES_FILE))
        outline = outline_from_dict(store.read_json(OUTLINE_FILE))
        return cls(model, store, outline, features, config, options)

    @property
    def finished(self) -> bool:
        """Whether the interview is over."""
        return self.state.finished

    @property
    def turns(self) -> list[Turn]:
        """Every turn so far."""
        return list(self.state.turns)

    @property
    def current_section(self) -> Section | None:
        """The section being asked, or None when the interview is over."""
        index = self.state.section_index
        return self.outline.sections[index] if index < len(self.outline.sections) and not self.finished else None

    def example(self, example_id: str) -> CitedExample | None:
        """The cited example with this id."""
        return next((c for c in self.catalogue if c.id == example_id), None)

    def next_question(self) -> Turn | None:
        """The question awaiting an answer (asking a new one if needed); None once the interview is over."""
        if self.state.pending is not None:
            return self.state.pending
        while not self.finished:
            section = self.current_section
            if section is None or self._total_cap_reached():
                self._finish()
                break
            if len(self.state.section_turns(section.id)) >= section.turn_budget:
                self._end_section(section, "budget")
                continue
            return self._ask(section)
        return None

    def answer(self, text: str) -> Turn:
        """Save the answer to the pending question (fsynced before anything else), then judge the section."""
        pending = self.state.pending
        if pending is None:
            raise TranscriptError("no question is waiting for an answer; call next_question() first")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("the answer is empty; type an answer (or stop the interview to resume later)")
        self._record("answer", turn_id=pending.turn_id, text=text.strip())
        self._check_section_done()
        return self.state.turns[-1] if self.state.turns[-1].turn_id == pending.turn_id else pending

    def _ask(self, section: Section) -> Turn:
        turns = self.state.turns
        used = [cite for turn in turns for cite in turn.cites]
        hint, hint_ids = contrast_hint(self.catalogue, used)
        if self.config.compact:
            text, cites, source = self._ask_compact(section, hint, hint_ids)
            self._record("question", turn_id=len(turns) + 1, section=section.id, text=text, cites=list(cites), source=source)
            return self.state.pending  # type: ignore[return-value]
        messages = question_messages(section, self.features, self.catalogue, turns, hint)
        try:
            reply = chat_json(self.model, messages, self.options, self._question_check, self.config.json_retries)
            text, cites, source = self._clean_question(reply), self._cites(reply), "model"
        except JSONModeError as err:
            self._log_model_error("ask_question", section.id, err)
            text, cites, source = self._fallback(section, hint, hint_ids)
        turn_id = len(turns) + 1
        self._record("question", turn_id=turn_id, section=section.id, text=text, cites=list(cites), source=source)
        return self.state.pending  # type: ignore[return-value]

    def _ask_compact(self, section: Section, hint: str, hint_ids: tuple[str, ...]) -> tuple[str, tuple[str, ...], str]:
        """A plain-text question from a small model: one topic and one fact; the fact is stated if the model drops it."""
        asked = len(self.state.section_turns(section.id))
        fact = question_fact(section, self.features, hint)
        cites = hint_ids if fact == hint else ()
        previous = [t.question for t in self.state.turns]
        replies = []
        for attempt in range(self.config.json_retries + 1):
            goal = section.goals[(asked + attempt) % len(section.goals)]
            temperature = None if attempt == 0 else 0.7  # greedy first; sample on a retry to get something new
            options = task_options(self.options, self.config.question_tokens, temperature, stop=("?", "\n"))
            options = replace(options, seed=(options.seed or 0) + attempt)
            reply = self.model.chat(compact_question_messages(goal, fact), options)
            try:
                question, prefixed = ensure_fact(parse_question(reply), fact)
                if (duplicate := find_duplicate(question, previous, self.config.duplicate_threshold)) is not None:
                    raise ValueError(f"repeats an earlier question ({duplicate!r})")
            except ValueError as err:
                replies.append(JSONAttempt(reply, str(err)))
                continue
            return question, cites, "model+fact" if prefixed else "model"
        self._log_model_error("ask_question", section.id, JSONModeError(replies))
        return self._fallback(section, hint, hint_ids)

    def _question_check(self, obj: dict[str, Any]) -> None:
        question = obj.get("question")
        if not isinstance(question, str) or len(question.strip()) < 8:
            raise ValueError("'question' must be one full question to the person, as a string")
        duplicate = find_duplicate(self._clean_question(obj), [t.question for t in self.state.turns],
                                   self.config.duplicate_threshold)
        if duplicate is not None:
            raise ValueError(f"the question repeats an earlier one ({duplicate!r}); ask about something not yet covered")
        cites = obj.get("cites", [])
        if not isinstance(cites, list):
            raise ValueError("'cites' must be a list of example ids such as [\"E1\"]")

    def _clean_question(self, obj: dict[str, Any]) -> str:
        # Models sometimes write "E3" in the question; the person knows captions, not our ids.
        def by_title(match: re.Match[str]) -> str:
            cited = self.example(f"E{match.group(1)}")
            return f'"{cited.title}"' if cited else match.group(0)

        return fix_time_units(" ".join(_ID_IN_TEXT.sub(by_title, str(obj["question"]).strip()).split()))

    def _cites(self, obj: dict[str, Any]) -> tuple[str, ...]:
        named = {str(c).strip().upper() for c in obj.get("cites", []) if isinstance(c, (str, int))}
        named |= {f"E{m}" for m in _ID_IN_TEXT.findall(str(obj.get("question", "")))}
        text = str(obj.get("question", ""))
        named |= {c.id for c in self.catalogue if c.example.caption and c.title.rstrip("…")[:20] in text}
        return tuple(c.id for c in self.catalogue if c.id in named)

    def _fallback(self, section: Section, hint: str, hint_ids: tuple[str, ...]) -> tuple[str, tuple[str, ...], str]:
        previous = [t.question for t in self.state.turns]
        start = len(self.state.section_turns(section.id))
        for offset in range(len(section.goals) * 2):
            use_hint = hint if offset < len(section.goals) else ""
            text = fallback_question(section, start + offset, use_hint)
            if find_duplicate(text, previous, self.config.duplicate_threshold) is None:
                return text, (hint_ids if use_hint else ()), "fallback"
        fallback = f"Is there anything else about {section.title.lower()} you would like to add? (question {start + 1})"
        return fallback, (), "fallback"

    def _check_section_done(self) -> None:
        section = self.current_section
        if section is None:
            return
        turns = self.state.section_turns(section.id)
        if len(turns) >= section.turn_budget:
            self._end_section(section, "budget")
        elif self.config.judge_sections and not self.config.compact and self._goals_met(section, turns):
            self._end_section(section, "goals_met")
        if self.current_section is None or self._total_cap_reached():
            self._finish()

    def _goals_met(self, section: Section, turns: list[Turn]) -> bool:
        def check(obj: dict[str, Any]) -> None:
            if not isinstance(obj.get("goals_met"), bool):
                raise ValueError("'goals_met' must be true or false")

        try:
            verdict = chat_json(self.model, judge_messages(section, turns), self.options, check, self.config.json_retries)
        except JSONModeError as err:
            self._log_model_error("judge_section", section.id, err)
            return False  # keep asking: the turn budget still ends the section
        return bool(verdict["goals_met"])

    def _total_cap_reached(self) -> bool:
        cap = self.config.max_turns
        return cap is not None and len(self.state.turns) >= cap and self.state.pending is None

    def _end_section(self, section: Section, reason: str) -> None:
        self._record("section_end", section=section.id, reason=reason)

    def _finish(self) -> None:
        if not self.finished:
            self._record("finished", turns=len(self.state.turns))

    def _record(self, kind: str, **fields: Any) -> None:
        event = self.store.append(kind, **fields)
        apply_event(self.state, event)
        self._save_state()

    def _save_state(self) -> None:
        self.store.write_state(self.state)

    def _log_model_error(self, task: str, section_id: str, err: JSONModeError) -> None:
        log.warning("%s in section %s: the model gave no usable reply (%s); using the outline's own question/verdict",
                    task, section_id, err)
        path = self.store.folder / MODEL_ERRORS_FILE
        record = {"task": task, "section": section_id, "attempts": [{"reply": a.reply, "error": a.error} for a in err.attempts]}
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def transcript_text(turns: Sequence[Turn]) -> str:
    """The answered turns as numbered Q/A lines (what synthesis reads)."""
    return "\n".join(f"[turn {t.turn_id}, {t.section}] Q: {t.question}\nA: {t.answer}" for t in turns if t.answered)

