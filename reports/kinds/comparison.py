"""Several audits side by side: personas x platforms tables of BEP and relative decline, diversity curves overlaid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reports.collect import Numbers
from reports.kinds.audit import feed_name, persona_id, window_series
from reports.model import Block, Estimate, Part, Section, Table, Text
from reports.plots import line_plot
from reports.sources import Source


def comparison_part(audits: Sequence[Source]) -> Part:
    """The comparison sections over every audit given (shown before each audit's own sections)."""
    numbers: list[Any] = []
    blocks: list[Block] = [Text(f"{len(audits)} audits: " + ", ".join(a.label for a in audits) + ".")]
    for key, title in (("bep", "BEP (Jensen-Shannon divergence, base 2) by persona and platform"),
                       ("relative_decline", "Relative diversity decline (persona minus control) by persona and "
                                             "platform")):
        table = _matrix(audits, key, title, numbers)
        if table is not None:
            blocks.append(table)
    figures: list[Block] = []
    col = Numbers("comparison curves")
    for metric, title in (("distinct_full", "distinct categories (full paths)"),
                          ("entropy_full", "category entropy (full paths)")):
        series = []
        for audit in audits:
            for line in window_series(audit.data, metric, f"{audit.label}: "):
                if "control" in line.label and len(audits) > 1 and audit is not audits[0]:
                    continue  # one control curve is enough for reference; the rest would crowd the plot
                series.append(line)
        if series:
            for line in series:
                col.series(line.label, title, list(line.xs), list(line.ys), "window start")
            unit = "bits" if "entropy" in metric else "categories"
            figures.append(line_plot(series, f"{title.capitalize()} per window, every breadth audit",
                                     "first video of the window (video index)", f"{title} ({unit})",
                                     f"{title.capitalize()} per window for the persona account of each breadth "
                                     "audit (mean over repeats, 95% CI band), with the first audit's control account.",
                                     width=7.2))
    numbers += col.rows
    sections = [Section("comparison", "Comparison of audits", tuple(blocks))]
    if figures:
        sections.append(Section("comparison-diversity", "Diversity curves overlaid", tuple(figures), 3))
    return Part(tuple(sections), tuple(numbers), (), tuple(str(a.path) for a in audits))


def _matrix(audits: Sequence[Source], key: str, title: str, numbers: list[Any]) -> Table | None:
    col = Numbers("comparison")
    cells: dict[tuple[str, str], str] = {}
    for audit in audits:
        block = audit.data.get("depth" if key == "bep" else "breadth") or {}
        if key in block:
            persona, feed = persona_id(audit.data), feed_name(audit.data)
            text = col.estimate(f"{persona} on {feed}", key, Estimate.parse(block[key], f"{audit.path}: {key}"))
            cells[(persona, feed)] = f"{text} [{audit.label}]" if (persona, feed) not in cells else \
                f"{cells[(persona, feed)]}; {text} [{audit.label}]"
    if not cells:
        return None
    personas = list(dict.fromkeys(p for p, _ in cells))
    feeds = list(dict.fromkeys(f for _, f in cells))
    numbers += col.rows
    return Table(f"{title} (mean [95% CI] (n repeats) [audit folder])", ("persona", *feeds),
                 tuple((p, *(cells.get((p, f), "not run") for f in feeds)) for p in personas))
