"""Build a report from result files and write one self-contained HTML file with its numbers as CSV and JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from recorder.files import atomic_write_bytes, write_json_atomic
from reports.model import Part, Report, ReportError
from reports.sources import Source, digest, load_sources

NUMBER_COLUMNS = ("section", "item", "quantity", "value", "ci_low", "ci_high", "n", "unit")


@dataclass(frozen=True)
class Written:
    """Where a report went: the HTML and the two files holding every number it shows."""

    html: Path
    numbers_csv: Path
    numbers_json: Path
    sections: tuple[str, ...]


def build_report(paths: Sequence[Path], title: str | None = None, command: str = "") -> Report:
    """Read the result files under `paths` and lay out every part; nothing is computed, only selected and formatted."""
    from reports.kinds.audit import audit_part
    from reports.kinds.comparison import comparison_part
    from reports.kinds.policy import policy_part
    from reports.kinds.sandbox import grid_part, run_part
    from reports.kinds.validation import validation_part

    sources = load_sources(paths)
    by_kind: dict[str, list[Source]] = {}
    for source in sources:
        by_kind.setdefault(source.kind, []).append(source)
    parts: list[Part] = []
    audits = by_kind.get("audit", [])
    if len(audits) > 1:
        parts.append(comparison_part(audits))
    parts += [audit_part(s) for s in audits]
    parts += [validation_part(s) for s in by_kind.get("validation", [])]
    parts += [policy_part(s) for s in by_kind.get("policy_evaluation", [])]
    if by_kind.get("sandbox_run"):
        parts.append(run_part(by_kind["sandbox_run"]))
    parts += [grid_part(s) for s in by_kind.get("sandbox_compare", []) + by_kind.get("sandbox_sweep", [])]
    return Report(title or _default_title(by_kind), tuple(parts), _provenance(sources, command))


def _default_title(by_kind: dict[str, list[Source]]) -> str:
    names = {"audit": "audit", "validation": "validation", "policy_evaluation": "policy evaluation",
             "sandbox_run": "sandbox run", "sandbox_compare": "sandbox comparison", "sandbox_sweep": "sandbox sweep"}
    kinds = [names[k] + ("s" if len(v) > 1 else "") for k, v in by_kind.items()]
    if len(by_kind.get("audit", [])) > 1:
        kinds[list(by_kind).index("audit")] = "audit comparison"
    return "PersonaAct report: " + ", ".join(kinds)


def _provenance(sources: list[Source], command: str) -> dict[str, Any]:
    try:
        toolkit = version("personaact")
    except PackageNotFoundError:
        toolkit = "source tree (not installed)"
    return {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "toolkit_version": toolkit,
            "command": command,
            "sources": [{"kind": s.kind, "path": str(s.path), "sha256": digest(s.path),
                         "manifest": str(s.folder / "manifest.json") if "manifest" in s.companions else None,
                         "command_line": _command_line(s)} for s in sources]}


def _command_line(source: Source) -> str | None:
    manifest = source.companions.get("manifest")
    if isinstance(manifest, dict):
        line = manifest.get("command_line") or manifest.get("command") or manifest.get("argv")
        return " ".join(map(str, line)) if isinstance(line, list) else (str(line) if line else None)
    return None


def render_html(report: Report, numbers_name: str) -> str:
    """The report as one HTML string (styles and plots inline, no external reference)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["j2", "html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(report=report, numbers_name=numbers_name)


def write_report(report: Report, out: Path, overwrite: bool = False) -> Written:
    """Write the HTML and `<name>.numbers.csv` / `<name>.numbers.json` beside it (atomically)."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ReportError(f"--out {out}: the report is an HTML file; give a name ending in .html")
    csv_path, json_path = out.with_suffix(".numbers.csv"), out.with_suffix(".numbers.json")
    if out.exists() and not overwrite:
        raise ReportError(f"{out} exists; pass --overwrite to replace it or choose another --out")
    rows = [n.to_dict() for n in report.numbers]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=NUMBER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    atomic_write_bytes(csv_path, buffer.getvalue().encode("utf-8"))
    write_json_atomic(json_path, {"kind": "report_numbers", "schema_version": 1, "title": report.title,
                                  "numbers": rows, "limitations": list(report.limitations),
                                  "provenance": dict(report.provenance)})
    atomic_write_bytes(out, render_html(report, csv_path.name).encode("utf-8"))
    return Written(out, csv_path, json_path, tuple(s.anchor for s in report.sections))
