"""Every plot of the project: matplotlib figures as inline, titled SVG in a colour-blind-safe palette."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reports.model import Estimate, Figure

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies; markers and dashes add redundancy.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
DASHES = ("-", "--", "-.", ":")


@dataclass(frozen=True)
class Series:
    """One curve: x values and an estimate per x (a CI band is drawn where the estimates have one)."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[Estimate, ...]
    group: str = ""  # curves of one group share a colour and one legend entry (e.g. the seeds of a recommender)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False, "svg.hashsalt": "personaact"})
    return plt


def to_svg(fig: Any, title: str, caption: str) -> Figure:
    """Serialise a figure as inline SVG with a <title> and ARIA label, scalable and free of external references."""
    plt = _pyplot()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # drop the XML declaration and DOCTYPE (an external DTD reference)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    label = html.escape(title, quote=True)
    text = text.replace("<svg", f'<svg role="img" aria-label="{label}"', 1)
    head_end = text.index(">") + 1
    text = f"{text[:head_end]}<title>{label}</title><desc>{html.escape(caption)}</desc>{text[head_end:]}"
    return Figure(title=title, svg=text, caption=caption)


def line_plot(series: Sequence[Series], title: str, xlabel: str, ylabel: str, caption: str,
              width: float = 6.4, height: float = 3.2) -> Figure:
    """Lines with 95% CI bands; the legend sits outside the axes so it covers no data."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(width, height))
    for i, line in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        means = [e.mean for e in line.ys]
        ax.plot(line.xs, means, color=colour, linestyle=DASHES[i % len(DASHES)], marker=MARKERS[i % len(MARKERS)],
                markersize=3.5, linewidth=1.4, label=line.label)
        if any(e.has_ci for e in line.ys):
            ax.fill_between(line.xs, [e.low for e in line.ys], [e.high for e in line.ys], color=colour, alpha=0.18,
                            linewidth=0)
    _finish(ax, title, xlabel, ylabel, legend=len(series) > 1)
    return to_svg(fig, title, caption)


def level_plot(levels: Sequence[float], ys: Sequence[Estimate], values: Sequence[Sequence[float]], title: str,
               xlabel: str, ylabel: str, caption: str) -> Figure:
    """Mean and 95% CI per knob level (error bars), with each seed's value as a faint dot."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    for level, points in zip(levels, values):
        nudge = 0.02 * (max(levels) - min(levels) or 1.0)  # beside the error bar, not hidden behind it
        ax.scatter([level + nudge] * len(points), points, s=10, color=PALETTE[5], alpha=0.7, linewidths=0,
                   label="single seed" if level == levels[0] else None)
    ax.errorbar(levels, [e.mean for e in ys], yerr=_error_bars(ys), color=PALETTE[0], marker="o", capsize=4,
                linewidth=1.4, label="mean, 95% CI")
    _finish(ax, title, xlabel, ylabel, legend=True)
    return to_svg(fig, title, caption)


def bar_plot(groups: Sequence[str], bars: Sequence[tuple[str, Sequence[Estimate]]], title: str, ylabel: str,
             caption: str) -> Figure:
    """Grouped bars (one colour and hatch per method) with 95% CI whiskers."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(min(9.5, max(4.0, 0.3 * len(groups) * max(1, len(bars)) + 2.5)), 3.4))
    width = 0.8 / max(1, len(bars))
    hatches = ("", "//", "..", "xx", "\\\\", "oo")
    for i, (label, ys) in enumerate(bars):
        xs = [g + (i - (len(bars) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, [e.mean for e in ys], width, color=PALETTE[i % len(PALETTE)], hatch=hatches[i % len(hatches)],
               edgecolor="white", label=label)
        ax.errorbar(xs, [e.mean for e in ys], yerr=_error_bars(ys), fmt="none", ecolor="#333333", capsize=2,
                    linewidth=0.9)
    ax.set_xticks(range(len(groups)), groups)
    _finish(ax, title, "", ylabel, legend=len(bars) > 1)
    return to_svg(fig, title, caption)


def scatter_plot(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], title: str, xlabel: str, ylabel: str,
                 caption: str, diagonal: bool = True) -> Figure:
    """Points per series (e.g. predicted vs actual watch time per bin), with the y = x line for reference."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    everything = [v for _, xs, ys in series for v in (*xs, *ys)]
    if diagonal and everything:
        low, high = min(everything), max(everything)
        ax.plot([low, high], [low, high], color="#777777", linestyle=":", linewidth=1, label="perfect calibration")
    for i, (label, xs, ys) in enumerate(series):
        ax.plot(xs, ys, color=PALETTE[i % len(PALETTE)], marker=MARKERS[i % len(MARKERS)], linestyle=DASHES[i % 4],
                markersize=4, linewidth=1.2, label=label)
    _finish(ax, title, xlabel, ylabel, legend=True)
    return to_svg(fig, title, caption)


def _error_bars(ys: Sequence[Estimate]) -> list[list[float]]:
    return [[max(0.0, e.mean - e.low) if e.has_ci else 0.0 for e in ys],
            [max(0.0, e.high - e.mean) if e.has_ci else 0.0 for e in ys]]


def _finish(ax: Any, title: str, xlabel: str, ylabel: str, legend: bool) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)


def small_multiples(panels: Sequence[tuple[str, str, Sequence[Series]]], title: str, xlabel: str, caption: str,
                    columns: int = 3) -> Figure:
    """A grid of panels (title, y label, curves), one shared legend below the grid so it covers no data."""
    plt = _pyplot()
    columns = max(1, min(columns, len(panels)))
    rows = max(1, -(-len(panels) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.1 * columns, 2.4 * rows), squeeze=False)
    handles: dict[str, Any] = {}
    groups = list(dict.fromkeys(line.group or line.label for _, _, series in panels for line in series))
    for ax, (panel_title, ylabel, series) in zip(axes.ravel(), panels):
        for line in series:
            i = groups.index(line.group or line.label)
            colour = PALETTE[i % len(PALETTE)]
            (handle,) = ax.plot(line.xs, [e.mean for e in line.ys], color=colour, linestyle=DASHES[i % len(DASHES)],
                                linewidth=1.0 if line.group else 1.2, label=line.group or line.label)
            handles.setdefault(line.group or line.label, handle)
            if any(e.has_ci for e in line.ys):
                ax.fill_between(line.xs, [e.low for e in line.ys], [e.high for e in line.ys], color=colour, alpha=0.18,
                                linewidth=0)
        _finish(ax, panel_title, xlabel, ylabel, legend=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    fig.tight_layout()
    if len(handles) > 1:
        fig.legend(list(handles.values()), list(handles), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=min(5, len(handles)), frameon=False, fontsize=8)
    return to_svg(fig, title, caption)
