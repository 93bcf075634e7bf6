"""Remove personal data: the participant's account names, phone-number-like strings, e-mails, notification text."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from recorder.errors import PersonaActError
from recorder.files import atomic_write_bytes, write_json_atomic
from recorder.trace import Action, Step, VideoMeta

# 7+ digits, optionally with a leading + and spaces, dots or dashes between groups (counts like 1.2万 are shorter).
PHONE_RE = re.compile(r"(?<![\w.])\+?\d(?:[\s\-.]?\d){6,}(?![\w.])")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# Notifications and status bar live in the system UI's windows; their text is someone else's message.
NOTIFICATION_PACKAGES = ("com.android.systemui",)
TEXT_ATTRS = ("text", "content-desc")
REDACTED = "[redacted]"


class AnonymiseError(PersonaActError, ValueError):
    """A trace cannot be anonymised as asked; the message names the option."""


@dataclass(frozen=True)
class Anonymiser:
    """What to remove: the participant's own account names (and extra literal strings) plus number-like patterns."""

    account_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = tuple(sorted({n.strip().lstrip("@") for n in self.account_names if n and n.strip()}, key=len, reverse=True))
        object.__setattr__(self, "account_names", names)

    def scrub(self, text: str) -> str:
        """`text` with personal strings replaced by [redacted]."""
        for name in self.account_names:
            text = re.sub(re.escape(name), REDACTED, text, flags=re.IGNORECASE)
        text = EMAIL_RE.sub(REDACTED, text)
        return PHONE_RE.sub(REDACTED, text)

    def scrub_optional(self, text: str | None) -> str | None:
        """`scrub` that passes None through."""
        return None if text is None else self.scrub(text)

    def scrub_xml(self, xml: str) -> str:
        """A hierarchy dump without notification windows and with every text and description scrubbed."""
        try:
            root = ET.fromstring(xml.encode("utf-8"))
        except ET.ParseError:
            return self.scrub(xml)  # not XML: scrub it as text rather than store it raw
        for parent in list(root.iter()):
            for child in list(parent):
                if child.get("package") in NOTIFICATION_PACKAGES:
                    parent.remove(child)
        for node in root.iter("node"):
            for attr in TEXT_ATTRS:
                value = node.get(attr)
                if value:
                    node.set(attr, self.scrub(value))
        return "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>" + ET.tostring(root, encoding="unicode")

    def scrub_meta(self, meta: VideoMeta) -> VideoMeta:
        """Metadata with personal strings removed (the participant's own name can show as author on their posts)."""
        return replace(meta, author=self.scrub_optional(meta.author), caption=self.scrub_optional(meta.caption),
                       hashtags=tuple(self.scrub(t) for t in meta.hashtags))

    def scrub_step(self, step: Step) -> Step:
        """A step with its metadata, comment texts and transcript scrubbed."""
        actions = tuple(Action(a.name, self.scrub_optional(a.text), a.at_s) for a in step.actions)
        return replace(step, meta=self.scrub_meta(step.meta), actions=actions,
                       transcript=self.scrub_optional(step.transcript))


def pseudonym(participant: str, salt: str = "") -> str:
    """A stable, non-reversible participant id for shared traces (`p-` + 10 hex characters)."""
    return "p-" + hashlib.sha256(f"{salt}\x1f{participant}".encode()).hexdigest()[:10]


def contains_personal(texts: Iterable[str], anonymiser: Anonymiser) -> list[str]:
    """The texts that would change under `anonymiser` (for checks and `record inspect`)."""
    return [t for t in texts if anonymiser.scrub(t) != t]


def anonymise_trace(folder: Path, out: Path, account_names: tuple[str, ...] = (), salt: str = "") -> int:
    """Copy a recorded trace for sharing: scrubbed steps, pseudonymous participant, feed frames and audio only.

    The raw capture (screen recording, hierarchies, touches) stays behind on the laptop. Returns the steps written.
    """
    from recorder.store import AUDIO_DIR, FRAMES_DIR, HEADER_FILE, STEPS_FILE, read_trace
    from recorder.trace import Consent

    if out.exists() and any(out.iterdir()):
        raise AnonymiseError(f"--out {out} is not empty; pick a new folder (shared copies are never overwritten)")
    trace = read_trace(folder)
    header = trace.header
    participant = header.collector or header.persona_id or header.trace_id
    anon = Anonymiser(tuple(account_names) + ((participant,) if participant else ()))
    alias = pseudonym(participant or "", salt)
    consent = Consent(header.consent.consented, True, header.consent.notes)
    extra = {k: v for k, v in dict(header.extra).items() if k in ("source", "media", "capture_warnings")}
    shared = header.with_changes(trace_id=pseudonym(header.trace_id, salt), persona_id=alias, collector=alias,
                                 device=None, consent=consent, extra=extra)
    out.mkdir(parents=True, exist_ok=True)
    steps = []
    for step in trace.steps:
        clean = anon.scrub_step(step)
        kept = {k: v for k, v in dict(clean.extra).items() if k in ("screen", "evidence")}
        steps.append(replace(clean, extra=kept))
        for rel in (*clean.frames, *((clean.audio,) if clean.audio else ())):
            source = folder / rel
            if source.is_file():
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, out / rel)
    for sub in (FRAMES_DIR, AUDIO_DIR):
        (out / sub).mkdir(exist_ok=True)
    write_json_atomic(out / HEADER_FILE, shared.to_dict())
    body = "".join(json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in steps)
    atomic_write_bytes(out / STEPS_FILE, body.encode("utf-8"))
    return len(steps)
