"""Engagement counts as apps print them: re-exported from recorder.counts (the recorder parses hierarchies too)."""

from __future__ import annotations

from recorder.counts import COUNT_STYLES, displayed, format_count, parse_count

__all__ = ["COUNT_STYLES", "displayed", "format_count", "parse_count"]
