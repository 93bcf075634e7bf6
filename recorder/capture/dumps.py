"""Fill imported PersonaAct raw steps' metadata from their `xml_path` UI dumps, read with the app profile as data.

The raw importer keeps each entry's `xml_path` in `step.extra["source"]`; when the dump files are at hand under
a media root, this reads them exactly as the recorder reads live hierarchies (recorder.capture.hierarchy).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from recorder.capture.hierarchy import HierarchyError, ScreenRules, read_state
from recorder.files import atomic_write_bytes
from recorder.store import STEPS_FILE, read_trace


@dataclass
class DumpReport:
    """How many steps got metadata, and the dumps that were missing or unreadable."""

    updated: int = 0
    missing: int = 0
    problems: list[str] = field(default_factory=list)


def _confined(media_root: Path, rel: str) -> Path | None:
    root = media_root.resolve()
    for candidate in (media_root / rel, media_root / rel.split("/", 1)[-1]):  # with or without raw_data/
        path = candidate.resolve()
        if path.is_relative_to(root) and path.is_file():
            return path
    return None


def fill_from_dumps(folder: Path, media_root: Path, rules: ScreenRules, overwrite: bool = False) -> DumpReport:
    """Read each step's xml_path dump into its metadata (steps that already have some are kept unless `overwrite`)."""
    report = DumpReport()
    trace = read_trace(folder)
    steps = []
    for step in trace.steps:
        source = step.extra.get("source") if isinstance(step.extra, dict) else None
        rel = source.get("xml_path") if isinstance(source, dict) else None
        has_meta = bool(step.meta.author or step.meta.caption)
        if not rel or (has_meta and not overwrite):
            steps.append(step)
            continue
        path = _confined(media_root, rel)
        if path is None:
            report.missing += 1
            steps.append(step)
            continue
        try:
            state = read_state(path.read_bytes(), rules)
        except HierarchyError as err:
            report.problems.append(f"{path}: {err}")
            steps.append(step)
            continue
        if state.key is None:
            report.problems.append(f"{path}: no video metadata on this screen ({state.kind})")
            steps.append(step)
            continue
        steps.append(replace(step, meta=replace(state.meta, video_id=step.meta.video_id, duration_s=step.meta.duration_s),
                             extra={**dict(step.extra), "screen": state.kind}))
        report.updated += 1
    if report.updated:
        body = "".join(json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in steps)
        atomic_write_bytes(folder / STEPS_FILE, body.encode("utf-8"))
    return report
