"""Read a UI hierarchy dump through an app profile: which screen it is, the video's metadata, where the controls are."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from device.counts import parse_count
from device.profiles import AppProfile, PopupRule, Rule
from recorder.errors import PersonaActError
from recorder.trace import VideoMeta

SCREEN_KINDS = ("video", "ad", "live", "popup", "login_wall", "other")
_BOUNDS_RE = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")


class HierarchyError(ValueError, PersonaActError):
    """The hierarchy dump is not XML uiautomator writes."""


@dataclass(frozen=True)
class Node:
    """One view of the hierarchy: its texts and where it sits on screen."""

    attrs: Mapping[str, str]
    bounds: tuple[int, int, int, int]

    @property
    def center(self) -> tuple[int, int]:
        """The point a tap on this view lands on."""
        left, top, right, bottom = self.bounds
        return (left + right) // 2, (top + bottom) // 2

    def texts(self) -> tuple[str, ...]:
        """Its text and content description (the parts apps do not obfuscate)."""
        return tuple(v for v in (self.attrs.get("text", ""), self.attrs.get("content-desc", "")) if v)


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


def parse_nodes(xml: str) -> list[Node]:
    """All nodes of a uiautomator dump, in document order."""
    try:
        root = ET.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except ET.ParseError as err:
        raise HierarchyError(f"hierarchy dump is not valid XML ({err}); save it with `personaact device dump` and check it") from err
    nodes = []
    for element in root.iter("node"):
        match = _BOUNDS_RE.fullmatch(element.get("bounds", ""))
        bounds = tuple(int(v) for v in match.groups()) if match else (0, 0, 0, 0)
        nodes.append(Node(dict(element.attrib), bounds))  # type: ignore[arg-type]
    return nodes


def find(nodes: list[Node], rule: Rule) -> tuple[Node, re.Match[str]] | None:
    """The first node matching `rule`, with its match."""
    for node in nodes:
        match = rule.match(node.attrs)
        if match:
            return node, match
    return None


def _any_text(nodes: list[Node], patterns: tuple[re.Pattern[str], ...]) -> bool:
    return any(p.search(t) for node in nodes for t in node.texts() for p in patterns)


def _popup(nodes: list[Node], profile: AppProfile) -> tuple[PopupRule, Node] | None:
    for rule in profile.popups:
        if not any(rule.detect.search(t) for node in nodes for t in node.texts()):
            continue
        for node in nodes:
            if any(rule.press.search(t) for t in node.texts()):
                return rule, node
    return None


def _values(nodes: list[Node], profile: AppProfile) -> Iterator[tuple[str, str, Node, re.Match[str]]]:
    for name, rule in profile.fields.items():
        hit = find(nodes, rule)
        if hit:
            yield name, hit[1].group("value"), hit[0], hit[1]


def read_meta(nodes: list[Node], profile: AppProfile, is_ad: bool = False, is_live: bool = False
              ) -> tuple[VideoMeta, bool | None, dict[str, tuple[int, int]]]:
    """The video's metadata, liked state and control tap points, from the profile's field rules."""
    values: dict[str, str] = {}
    controls: dict[str, tuple[int, int]] = {}
    liked = None
    for name, value, node, match in _values(nodes, profile):
        values[name] = value
        controls[name] = node.center
        if name == "like":
            liked = match.group("state") == profile.liked_state
    caption = values.get("caption")
    hashtags = tuple(dict.fromkeys(profile.hashtag_pattern.findall(caption or "")))
    meta = VideoMeta(author=values.get("author"), caption=caption, hashtags=hashtags,
                     like_count=parse_count(values.get("like")), comment_count=parse_count(values.get("comment")),
                     share_count=parse_count(values.get("share")), favorite_count=parse_count(values.get("favorite")),
                     is_ad=is_ad, is_live=is_live)
    return meta, liked, controls


def parse_screen(xml: str, profile: AppProfile, activity: str | None = None) -> Screen:
    """Classify a dump (popup > login wall > live > ad > video > other) and read what it shows."""
    nodes = parse_nodes(xml)
    popup = _popup(nodes, profile)
    if popup:
        return Screen("popup", popup=popup[0], controls={"dismiss": popup[1].center})
    if _any_text(nodes, profile.login_wall_patterns):
        return Screen("login_wall")
    is_live = _any_text(nodes, profile.live_patterns) or (activity in profile.live_activities)
    is_ad = not is_live and _any_text(nodes, profile.ad_patterns)
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
