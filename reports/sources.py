"""Find the result files under the paths given and tell their kind from the JSON's "kind" key."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder.files import sha256_file
from reports.model import ReportError

KINDS = ("audit", "validation", "sandbox_run", "sandbox_compare", "sandbox_sweep", "policy_evaluation")
# Names the producers write; any other *.json given explicitly is read too if it names a known kind.
RESULT_NAMES = ("results.json", "validation.json", "evaluation.json", "compare.json", "sweep.json", "metrics.json")
SKIP_FOLDERS = ("repeats", "logs", "checkpoints", "traces", "frames", "audio")


@dataclass(frozen=True)
class Source:
    """One result file: its kind, where it is, its JSON, and companion files read beside it (manifest, persona)."""

    kind: str
    path: Path
    data: Mapping[str, Any]
    companions: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""  # set by load_sources when two results of a kind share a folder name

    @property
    def folder(self) -> Path:
        """The folder the result file lives in."""
        return self.path.parent

    @property
    def label(self) -> str:
        """A short name for tables: the folder name (with its parents when that alone is ambiguous)."""
        return self.name or self.folder.name or str(self.folder)


def read_json(path: Path) -> Any:
    """Parse a JSON file, naming it in any error."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ReportError(f"{path}: file not found") from err
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ReportError(f"{path}: not valid JSON ({err}); re-run the command that wrote it") from err


def kind_of(data: Any, path: Path) -> str | None:
    """The result kind of parsed JSON; an untagged sandbox metrics.json (older runs) counts as sandbox_run."""
    if not isinstance(data, Mapping):
        return None
    kind = data.get("kind")
    if isinstance(kind, str) and kind in KINDS:
        return kind
    if kind is None and path.name == "metrics.json" and isinstance(data.get("steps"), list):
        return "sandbox_run"
    return None


def load_sources(paths: Iterable[Path]) -> list[Source]:
    """Every result file under `paths`, in the order given; a folder's own result file hides those below it."""
    found: list[Source] = []
    for path in paths:
        path = Path(path)
        if path.is_file():
            data = read_json(path)
            kind = kind_of(data, path)
            if kind is None:
                raise ReportError(f"{path}: no known \"kind\" (expected one of {', '.join(KINDS)})")
            found.append(_with_companions(Source(kind, path, data)))
        elif path.is_dir():
            found += _search(path)
        else:
            raise ReportError(f"{path}: no such file or folder")
    if not found:
        raise ReportError(f"{', '.join(map(str, paths))}: no result files ({', '.join(RESULT_NAMES)} with a known kind)")
    return _distinct_labels(found)


def _distinct_labels(sources: list[Source]) -> list[Source]:
    """Results of one kind from folders of the same name are told apart by their parents (a/audit, b/audit)."""
    from dataclasses import replace

    clashing = [s for s in sources if sum(t.kind == s.kind and t.folder.name == s.folder.name for t in sources) > 1]
    if not clashing:
        return sources
    for depth in range(2, max(len(s.folder.resolve().parts) for s in clashing) + 1):
        names = {id(s): "/".join(s.folder.resolve().parts[-depth:]) for s in clashing}
        if len({(s.kind, names[id(s)]) for s in clashing}) == len(clashing):
            return [replace(s, name=names[id(s)]) if id(s) in names else s for s in sources]
    raise ReportError("the same result was given twice: " + ", ".join(sorted({str(s.path) for s in clashing})))


def _search(folder: Path) -> list[Source]:
    own = []
    for name in RESULT_NAMES:
        file = folder / name
        if file.is_file():
            data = read_json(file)
            kind = kind_of(data, file)
            if kind is not None:
                own.append(_with_companions(Source(kind, file, data)))
    if own:
        return own[:1] if own[0].kind in ("sandbox_compare", "sandbox_sweep") else own
    below: list[Source] = []
    for child in sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in SKIP_FOLDERS):
        below += _search(child)
    return below


def _with_companions(source: Source) -> Source:
    """Attach the audit folder's manifest and persona card when present (unreadable ones are reported, not fatal)."""
    companions: dict[str, Any] = {}
    for name in ("manifest.json", "persona.json"):
        file = source.folder / name
        if file.is_file():
            companions[name.removesuffix(".json")] = read_json(file)
    return Source(source.kind, source.path, source.data, companions)


def digest(path: Path) -> str:
    """SHA-256 of a file (provenance: which exact result file the report shows)."""
    return sha256_file(path)
