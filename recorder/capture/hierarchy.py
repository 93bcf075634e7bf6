"""Read uiautomator hierarchy XML through an app profile passed in as data: metadata, liked state, panels, control bounds.

The profile-driven parsing lives here, in the recorder, because both the recorder (attribution, metadata) and the
PersonaAct raw importer (xml_path dumps) need it and the recorder may not import `device`. The profile is whatever
object satisfies `ScreenRules` (device.profiles.AppProfile does, structurally); device.screens builds on these
functions for the PhoneFeed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from recorder.counts import parse_count
from recorder.errors import PersonaActError
from recorder.trace import VideoMeta

STATE_KINDS = ("video", "ad", "live", "popup", "login_wall", "other")
FEED_SCREENS = ("video", "ad", "live")  # the kinds a Trace keeps as videos (and whose frames may be stored)
EDIT_CLASS = "android.widget.EditText"
_BOUNDS_RE = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")

Bounds = tuple[int, int, int, int]


class HierarchyError(ValueError, PersonaActError):
    """The hierarchy dump is not XML uiautomator writes."""


class RuleLike(Protocol):
    """A profile rule: which attribute (text or content-desc) and the pattern it must match."""

    @property
    def attr(self) -> str: ...
    @property
    def pattern(self) -> re.Pattern[str]: ...

    def match(self, node: Mapping[str, str]) -> re.Match[str] | None:
        """The pattern's match on this node's attribute, if any."""
        ...


class PopupLike(Protocol):
    """A dialog rule: `detect` on any text, `press` on the control that closes it."""

    @property
    def name(self) -> str: ...
    @property
    def detect(self) -> re.Pattern[str]: ...
    @property
    def press(self) -> re.Pattern[str]: ...


class ScreenRules(Protocol):
    """What the recorder needs from an app profile (device.profiles.AppProfile satisfies it)."""

    @property
    def name(self) -> str: ...
    @property
    def fields(self) -> Mapping[str, RuleLike]: ...
    @property
    def liked_state(self) -> str: ...
    @property
    def hashtag_pattern(self) -> re.Pattern[str]: ...
    @property
    def feed_marker(self) -> RuleLike: ...
    @property
    def comment_input(self) -> RuleLike: ...
    @property
    def comment_send(self) -> RuleLike: ...
    @property
    def share_action(self) -> RuleLike: ...
    @property
    def ad_patterns(self) -> tuple[re.Pattern[str], ...]: ...
    @property
    def live_patterns(self) -> tuple[re.Pattern[str], ...]: ...
    @property
    def login_wall_patterns(self) -> tuple[re.Pattern[str], ...]: ...
    @property
    def live_activities(self) -> tuple[str, ...]: ...

    @property
    def popups(self) -> Sequence[PopupLike]:
        """Dialog rules."""
        ...


@dataclass(frozen=True)
class Node:
    """One view of the hierarchy: its attributes and where it sits on screen."""

    attrs: Mapping[str, str]
    bounds: Bounds

    @property
    def center(self) -> tuple[int, int]:
        """The point a tap on this view lands on."""
        left, top, right, bottom = self.bounds
        return (left + right) // 2, (top + bottom) // 2

    def contains(self, x: int, y: int) -> bool:
        """Whether (x, y) falls inside the view."""
        left, top, right, bottom = self.bounds
        return left <= x < right and top <= y < bottom

    def texts(self) -> tuple[str, ...]:
        """Its text and content description (the parts apps do not obfuscate)."""
        return tuple(v for v in (self.attrs.get("text", ""), self.attrs.get("content-desc", "")) if v)


def parse_nodes(xml: str | bytes) -> list[Node]:
    """All nodes of a uiautomator dump, in document order."""
    try:
        root = ET.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except ET.ParseError as err:
        raise HierarchyError(f"hierarchy dump is not valid XML ({err}); "
                             "save it with `personaact device dump` and check it") from err
    nodes = []
    for element in root.iter("node"):
        match = _BOUNDS_RE.fullmatch(element.get("bounds", ""))
        bounds = tuple(int(v) for v in match.groups()) if match else (0, 0, 0, 0)
        nodes.append(Node(dict(element.attrib), bounds))  # type: ignore[arg-type]
    return nodes


def find(nodes: list[Node], rule: RuleLike) -> tuple[Node, re.Match[str]] | None:
    """The first node matching `rule`, with its match."""
    for node in nodes:
        match = rule.match(node.attrs)
        if match:
            return node, match
    return None


def any_text(nodes: list[Node], patterns: Sequence[re.Pattern[str]]) -> bool:
    """Whether any node's text or description matches any pattern."""
    return any(p.search(t) for node in nodes for t in node.texts() for p in patterns)


def _values(nodes: list[Node], rules: ScreenRules) -> Iterator[tuple[str, str, Node, re.Match[str]]]:
    for name, rule in rules.fields.items():
        hit = find(nodes, rule)
        if hit:
            yield name, hit[1].group("value"), hit[0], hit[1]


def read_fields(nodes: list[Node], rules: ScreenRules, is_ad: bool = False, is_live: bool = False
                ) -> tuple[VideoMeta, bool | None, dict[str, Node]]:
    """The video's metadata, liked state and the field nodes (like, comment, share...) by name."""
    values: dict[str, str] = {}
    found: dict[str, Node] = {}
    liked = None
    for name, value, node, match in _values(nodes, rules):
        values[name], found[name] = value, node
        if name == "like":
            liked = match.group("state") == rules.liked_state
    caption = values.get("caption")
    hashtags = tuple(dict.fromkeys(rules.hashtag_pattern.findall(caption or "")))
    meta = VideoMeta(author=values.get("author"), caption=caption, hashtags=hashtags,
                     like_count=parse_count(values.get("like")), comment_count=parse_count(values.get("comment")),
                     share_count=parse_count(values.get("share")), favorite_count=parse_count(values.get("favorite")),
                     is_ad=is_ad, is_live=is_live)
    return meta, liked, found


def read_meta(nodes: list[Node], rules: ScreenRules, is_ad: bool = False, is_live: bool = False
              ) -> tuple[VideoMeta, bool | None, dict[str, tuple[int, int]]]:
    """The video's metadata, liked state and control tap points, from the profile's field rules."""
    meta, liked, found = read_fields(nodes, rules, is_ad, is_live)
    return meta, liked, {name: node.center for name, node in found.items()}


def metadata_key(meta: VideoMeta) -> str | None:
    """What identifies a video on screen: its id, else author and caption (None when neither is readable)."""
    if meta.video_id:
        return f"id:{meta.video_id}"
    if not meta.author and not meta.caption:
        return None
    return f"{meta.author or ''}\x1f{meta.caption or ''}"


@dataclass(frozen=True)
class UiState:
    """What one dump shows, for segmentation and attribution."""

    kind: str
    meta: VideoMeta = field(default_factory=VideoMeta)
    liked: bool | None = None
    is_feed: bool = False
    panel: str | None = None  # "comment" or "share" when that panel is open
    typed: str = ""  # text in the comment box (not its hint)
    controls: Mapping[str, Bounds] = field(default_factory=dict)  # like, comment, share, send, share_action, dismiss, video

    def __post_init__(self) -> None:
        if self.kind not in STATE_KINDS:
            raise ValueError(f"unknown screen kind {self.kind!r}; known: {', '.join(STATE_KINDS)}")

    @property
    def key(self) -> str | None:
        """The metadata key of the video shown (None on popups, login walls and other screens)."""
        return metadata_key(self.meta) if self.kind in FEED_SCREENS else None

    def control_at(self, x: int, y: int) -> str | None:
        """The named control under (x, y), front-most (panels and dialogs) first; 'video' for the surface."""
        for name in ("dismiss", "send", "input", "share_action", "like", "comment", "share", "favorite"):
            bounds = self.controls.get(name)
            if bounds and bounds[0] <= x < bounds[2] and bounds[1] <= y < bounds[3]:
                return name
        return "video" if self.kind in ("video", "ad", "live") else None


def _popup(nodes: list[Node], rules: ScreenRules) -> Node | None:
    for rule in rules.popups:
        if any(rule.detect.search(t) for node in nodes for t in node.texts()):
            for node in nodes:
                if any(rule.press.search(t) for t in node.texts()):
                    return node
    return None


def _panel(nodes: list[Node], rules: ScreenRules) -> tuple[str | None, str, dict[str, Bounds]]:
    controls: dict[str, Bounds] = {}
    send = find(nodes, rules.comment_send)
    if send:
        controls["send"] = send[0].bounds
        box = next((n for n in nodes if n.attrs.get("class") == EDIT_CLASS), None)
        typed = ""
        if box is not None:
            controls["input"] = box.bounds
            text = box.attrs.get("text", "")
            typed = "" if rules.comment_input.match(box.attrs) else text
        return "comment", typed, controls
    share = find(nodes, rules.share_action)
    if share:
        controls["share_action"] = share[0].bounds
        return "share", "", controls
    return None, "", controls


def read_state(xml: str | bytes, rules: ScreenRules, activity: str | None = None) -> UiState:
    """Classify a dump (popup > login wall > live > ad > video > other) and read what the recorder needs."""
    nodes = parse_nodes(xml)
    dismiss = _popup(nodes, rules)
    if dismiss is not None:
        return UiState("popup", controls={"dismiss": dismiss.bounds})
    if any_text(nodes, rules.login_wall_patterns):
        return UiState("login_wall")
    is_live = any_text(nodes, rules.live_patterns) or (activity in rules.live_activities)
    is_ad = not is_live and any_text(nodes, rules.ad_patterns)
    meta, liked, found = read_fields(nodes, rules, is_ad, is_live)
    panel, typed, controls = _panel(nodes, rules)
    controls.update({name: node.bounds for name, node in found.items() if name != "author"})
    is_feed = find(nodes, rules.feed_marker) is not None
    kind = "live" if is_live else "ad" if is_ad else "video" if "like" in found and (meta.author or meta.caption) else "other"
    return UiState(kind, meta, liked, is_feed, panel, typed, controls)
