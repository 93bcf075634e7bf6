"""Write uiautomator-style hierarchy XML for the virtual phone's screens, in the app profile's own words."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from device.counts import format_count
from device.profiles import AppProfile, PopupRule, Rule
from recorder.trace import VideoMeta

LAUNCHER_PACKAGE = "com.android.launcher3"
LAUNCHER_ACTIVITY = "com.android.launcher3.uioverrides.QuickstepLauncher"
_ATTRS = ("index", "text", "resource-id", "class", "package", "content-desc", "checkable", "checked", "clickable",
          "enabled", "focusable", "focused", "scrollable", "long-clickable", "password", "selected")

# Where things sit, as fractions of (width, height): left, top, right, bottom.
BOXES = {
    "video": (0.0, 0.0, 1.0, 1.0), "marker": (0.40, 0.04, 0.60, 0.08), "label": (0.04, 0.76, 0.20, 0.785),
    "like": (0.86, 0.52, 0.98, 0.58), "comment": (0.86, 0.60, 0.98, 0.66), "favorite": (0.86, 0.68, 0.98, 0.74),
    "share": (0.86, 0.76, 0.98, 0.82), "author": (0.04, 0.80, 0.70, 0.83), "caption": (0.04, 0.84, 0.84, 0.90),
    "dialog": (0.08, 0.36, 0.92, 0.64), "title": (0.12, 0.40, 0.88, 0.48), "button": (0.30, 0.54, 0.70, 0.60),
    "input": (0.04, 0.92, 0.78, 0.97), "send": (0.80, 0.92, 0.96, 0.97), "share_action": (0.06, 0.82, 0.30, 0.90),
    "wall": (0.10, 0.40, 0.90, 0.46), "wall_button": (0.20, 0.60, 0.80, 0.66), "icon": (0.05, 0.30, 0.25, 0.40),
    "follow": (0.88, 0.45, 0.96, 0.49), "menu": (0.10, 0.44, 0.90, 0.62), "not_interested": (0.14, 0.50, 0.86, 0.56),
}


@dataclass(frozen=True)
class Box:
    """A named view: its bounds in pixels and its attributes."""

    name: str
    bounds: tuple[int, int, int, int]
    text: str = ""
    desc: str = ""
    cls: str = "android.widget.TextView"
    clickable: bool = False


def box(name: str, size: tuple[int, int], text: str = "", desc: str = "", cls: str = "android.widget.TextView",
        clickable: bool = False, where: str | None = None) -> Box:
    """A Box placed at BOXES[`where` or `name`] on a screen of `size`."""
    left, top, right, bottom = BOXES[where or name]
    w, h = size
    return Box(name, (int(left * w), int(top * h), int(right * w), int(bottom * h)), text, desc, cls, clickable)


def _field(profile: AppProfile, name: str, value: str, state: str = "") -> str:
    return profile.fields[name].render.format(value=value, state=state)  # type: ignore[union-attr]


def _placed(profile: AppProfile, name: str, value: str, size: tuple[int, int], state: str = "") -> Box:
    rule = profile.fields[name]
    rendered = _field(profile, name, value, state)
    text, desc = (rendered, "") if rule.attr == "text" else ("", rendered)
    return box(name, size, text, desc, "android.widget.Button" if name in ("like", "comment", "favorite", "share")
               else "android.widget.TextView", clickable=name != "author")


def caption_with_tags(meta: VideoMeta) -> str:
    """The caption as apps show it: hashtags the caption lacks are appended as #tags."""
    caption = meta.caption or ""
    missing = [t for t in meta.hashtags if f"#{t}" not in caption]
    return " ".join([caption] + [f"#{t}" for t in missing]).strip()


def video_boxes(profile: AppProfile, meta: VideoMeta, liked: bool, size: tuple[int, int], label: str = "") -> list[Box]:
    """The feed screen of one video: marker, video surface, label (ad/live), controls with counts, author, caption."""
    style = profile.count_style
    count = lambda v: format_count(v or 0, style)  # noqa: E731 - apps print 0 as '0' on our virtual phone
    state = profile.liked_state if liked else profile.unliked_state
    rule = profile.feed_marker
    marker = rule.render or rule.pattern.pattern.strip("^$")
    boxes = [box("marker", size, marker if rule.attr == "text" else "", marker if rule.attr == "content-desc" else "",
                 clickable=True),
             box("video", size, cls="androidx.viewpager.widget.ViewPager", clickable=True)]
    if label:
        boxes.append(box("label", size, label))
    boxes.append(_placed(profile, "like", count(meta.like_count), size, state))
    boxes.append(_placed(profile, "comment", count(meta.comment_count), size))
    if "favorite" in profile.fields:
        boxes.append(_placed(profile, "favorite", count(meta.favorite_count), size))
    boxes.append(_placed(profile, "share", count(meta.share_count), size))
    boxes.append(_placed(profile, "author", meta.author or "unknown", size))
    boxes.append(_placed(profile, "caption", caption_with_tags(meta), size))
    return boxes


def _states(rule: Rule) -> tuple[str, ...]:
    """The literal alternatives of a rule's (?P<state>a|b) group (how the virtual phone writes each state)."""
    match = re.search(r"\(\?P<state>([^()]*)\)", rule.pattern.pattern)
    return tuple(match.group(1).split("|")) if match else ()


def follow_box(profile: AppProfile, followed: bool, size: tuple[int, int]) -> Box:
    """The follow control by the author, in its followed or not-followed state."""
    rule = profile.follow
    assert rule is not None and profile.followed_state is not None
    state = profile.followed_state if followed else next(s for s in _states(rule) if s != profile.followed_state)
    text = (rule.render or "{state}").format(state=state)
    return Box("follow", box("follow", size).bounds, text if rule.attr == "text" else "",
               text if rule.attr == "content-desc" else "", "android.widget.Button", True)


def not_interested_boxes(profile: AppProfile, size: tuple[int, int]) -> list[Box]:
    """The long-press menu (or share-sheet entry) holding "not interested"."""
    rule = profile.not_interested
    if rule is None:
        return []
    label = rule.render or rule.pattern.pattern.strip("^$")
    entry = Box("not_interested", box("not_interested", size).bounds, label if rule.attr == "text" else "",
                label if rule.attr == "content-desc" else "", "android.widget.Button", True)
    return [box("menu", size, cls="android.widget.FrameLayout"), entry]


def popup_boxes(popup: PopupRule, size: tuple[int, int]) -> list[Box]:
    """A dialog over the feed with its title and the button that closes it."""
    return [box("dialog", size, cls="android.widget.FrameLayout"), box("title", size, popup.title),
            box("button", size, popup.button, cls="android.widget.Button", clickable=True)]


def login_wall_boxes(profile: AppProfile, size: tuple[int, int]) -> list[Box]:
    """The app's login screen."""
    return [box("wall", size, profile.login_wall_text),
            box("wall_button", size, "Log in" if profile.count_style == "en" else "登录", cls="android.widget.Button",
                clickable=True)]


def comment_boxes(profile: AppProfile, size: tuple[int, int], typed: str) -> list[Box]:
    """The comment panel: an input field (showing what was typed) and the send control."""
    hint = profile.comment_input.render or "..."
    send = profile.comment_send.render or "send"
    return [box("input", size, typed or hint, cls="android.widget.EditText", clickable=True),
            box("send", size, send if profile.comment_send.attr == "text" else "",
                send if profile.comment_send.attr == "content-desc" else "", "android.widget.Button", True)]


def share_boxes(profile: AppProfile, size: tuple[int, int]) -> list[Box]:
    """The share sheet with the action that completes a share."""
    action = profile.share_action.render or "share"
    return [box("share_action", size, action, cls="android.widget.Button", clickable=True)]


def launcher_boxes(size: tuple[int, int], app_label: str) -> list[Box]:
    """The home screen after the app died."""
    return [box("icon", size, app_label, desc=app_label, clickable=True)]


def to_xml(boxes: Iterable[Box], size: tuple[int, int], package: str) -> str:
    """Serialise boxes the way uiautomator's dumpWindowHierarchy does (a FrameLayout root holding the views)."""
    root = ET.Element("hierarchy", rotation="0")
    frame = ET.SubElement(root, "node", _attrs(0, Box("root", (0, 0, size[0], size[1]), cls="android.widget.FrameLayout"),
                                               package))
    for index, item in enumerate(boxes):
        ET.SubElement(frame, "node", _attrs(index, item, package))
    body = ET.tostring(root, encoding="unicode")
    return "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\r\n" + body


def _attrs(index: int, item: Box, package: str) -> dict[str, str]:
    left, top, right, bottom = item.bounds
    values = {"index": str(index), "text": item.text, "resource-id": "", "class": item.cls, "package": package,
              "content-desc": item.desc, "checkable": "false", "checked": "false",
              "clickable": str(item.clickable).lower(), "enabled": "true", "focusable": str(item.clickable).lower(),
              "focused": "false", "scrollable": "false", "long-clickable": "false", "password": "false",
              "selected": "false"}
    values = {k: values[k] for k in _ATTRS}
    values["bounds"] = f"[{left},{top}][{right},{bottom}]"
    return values
