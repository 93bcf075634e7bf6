"""Read a UI hierarchy dump through an app profile: which screen it is, the video's metadata, where the controls are."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from device.profiles import AppProfile, PopupRule
from recorder.capture.hierarchy import HierarchyError, Node, any_text, find, parse_nodes, read_meta
from recorder.trace import VideoMeta

# The profile-driven XML parsing lives in recorder.capture.hierarchy (the recorder and the raw importer use it too).
__all__ = ["HierarchyError", "Node", "Screen", "find", "parse_nodes", "parse_screen", "read_meta"]
SCREEN_KINDS = ("video", "ad", "live", "popup", "login_wall", "other")


@dataclass(frozen=True)
class Screen:
    """What a hierarchy dump shows, read through a profile."""

    kind: str
    meta: VideoMeta = field(default_factory=VideoMeta)
    liked: bool | None = None
    is_feed: bool = False
    popup: PopupRule | None = None
    controls: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # name -> tap point

    def __post_init__(self) -> None:
        if self.kind not in SCREEN_KINDS:
            raise ValueError(f"unknown screen kind {self.kind!r}; known: {', '.join(SCREEN_KINDS)}")


def _popup(nodes: list[Node], profile: AppProfile) -> tuple[PopupRule, Node] | None:
    for rule in profile.popups:
        if not any(rule.detect.search(t) for node in nodes for t in node.texts()):
            continue
        for node in nodes:
            if any(rule.press.search(t) for t in node.texts()):
                return rule, node
    return None


def parse_screen(xml: str, profile: AppProfile, activity: str | None = None) -> Screen:
    """Classify a dump (popup > login wall > live > ad > video > other) and read what it shows."""
    nodes = parse_nodes(xml)
    popup = _popup(nodes, profile)
    if popup:
        return Screen("popup", popup=popup[0], controls={"dismiss": popup[1].center})
    if any_text(nodes, profile.login_wall_patterns):
        return Screen("login_wall")
    is_live = any_text(nodes, profile.live_patterns) or (activity in profile.live_activities)
    is_ad = not is_live and any_text(nodes, profile.ad_patterns)
    meta, liked, controls = read_meta(nodes, profile, is_ad, is_live)
    is_feed = find(nodes, profile.feed_marker) is not None
    if is_live:
        kind = "live"
    elif is_ad:
        kind = "ad"
    elif "like" in controls and (meta.author or meta.caption):
        kind = "video"
    else:
        kind = "other"
    return Screen(kind, meta, liked, is_feed, None, controls)
