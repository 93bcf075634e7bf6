"""App profiles: per-app YAML files saying how to recognise and read each screen, loaded and validated."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from device.counts import COUNT_STYLES
from recorder.errors import PersonaActError

PROFILE_DIR = Path(__file__).with_name("profiles")
RULE_ATTRS = ("text", "content-desc")
REQUIRED_FIELDS = ("author", "caption", "like", "comment", "share")
OPTIONAL_FIELDS = ("favorite",)
NOT_INTERESTED_VIA = ("long_press", "share")


class ProfileError(ValueError, PersonaActError):
    """A profile file is missing a key or holds a bad value; the message names the file and the key."""

    def __init__(self, source: str, key: str, message: str):
        super().__init__(f"{source}: key {key!r}: {message}")
        self.source, self.key = source, key


def _regex(pattern: Any, source: str, key: str) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise ProfileError(source, key, f"must be a non-empty regular expression, got {pattern!r}")
    try:
        return re.compile(pattern)
    except re.error as err:
        raise ProfileError(source, key, f"invalid regular expression {pattern!r}: {err}") from err


def _strings(data: Mapping[str, Any], key: str, source: str, prefix: str = "", required: bool = True) -> tuple[str, ...]:
    value = data.get(key, None if required else [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or (required and not value) or not all(isinstance(v, str) and v for v in value):
        raise ProfileError(source, prefix + key, f"must be a non-empty list of strings, got {value!r}")
    return tuple(value)


def _mapping(data: Mapping[str, Any], key: str, source: str, prefix: str = "") -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise ProfileError(source, prefix + key, f"must be a mapping, got {value!r}; see device/profiles/douyin.yaml")
    return value


@dataclass(frozen=True)
class Rule:
    """Match a node whose `attr` (text or content-desc) fits `pattern`; `render` is how the virtual phone writes it."""

    attr: str
    pattern: re.Pattern[str]
    render: str | None = None

    @classmethod
    def from_yaml(cls, data: Any, source: str, key: str) -> Rule:
        """Build from `{attr, pattern, render}` found at `key` of `source`."""
        if not isinstance(data, Mapping):
            raise ProfileError(source, key, f"must be a mapping with attr and pattern, got {data!r}")
        attr = data.get("attr", "text")
        if attr not in RULE_ATTRS:
            raise ProfileError(source, f"{key}.attr", f"must be one of {', '.join(RULE_ATTRS)}, got {attr!r}")
        render = data.get("render")
        if render is not None and not isinstance(render, str):
            raise ProfileError(source, f"{key}.render", f"must be a format string, got {render!r}")
        return cls(attr, _regex(data.get("pattern"), source, f"{key}.pattern"), render)

    def match(self, node: Mapping[str, str]) -> re.Match[str] | None:
        """The pattern's match on this node's attribute, if any."""
        return self.pattern.search(node.get(self.attr, "") or "")


@dataclass(frozen=True)
class PopupRule:
    """A dialog the app shows over the feed (`detect` on any text) and the control that closes it (`press`)."""

    name: str
    detect: re.Pattern[str]
    press: re.Pattern[str]
    title: str  # what the virtual phone shows
    button: str


@dataclass(frozen=True)
class AppProfile:
    """Everything the toolkit knows about one app's screens; edit the YAML when an app update moves things."""

    name: str
    display_name: str
    packages: tuple[str, ...]
    main_activity: str
    feed_activities: tuple[str, ...]
    live_activities: tuple[str, ...]
    count_style: str
    feed_marker: Rule
    fields: Mapping[str, Rule]
    liked_state: str
    unliked_state: str
    hashtag_pattern: re.Pattern[str]
    comment_input: Rule
    comment_send: Rule
    share_action: Rule
    ad_patterns: tuple[re.Pattern[str], ...]
    ad_label: str
    live_patterns: tuple[re.Pattern[str], ...]
    live_label: str
    login_wall_patterns: tuple[re.Pattern[str], ...]
    login_wall_text: str
    popups: tuple[PopupRule, ...]
    source: str = field(default="<memory>", compare=False)
    follow: Rule | None = None  # the follow control by the author; its (?P<state>...) tells followed from not
    followed_state: str | None = None
    not_interested: Rule | None = None  # the "not interested" entry, in the long-press menu or the share sheet
    not_interested_via: str = "long_press"  # long_press | share

    @property
    def package(self) -> str:
        """The package launched by default (the first listed)."""
        return self.packages[0]

    def popup(self, name: str) -> PopupRule:
        """The popup rule called `name`."""
        for rule in self.popups:
            if rule.name == name:
                return rule
        raise KeyError(f"profile {self.name} has no popup {name!r}; known: {', '.join(p.name for p in self.popups)}")


def _popups(data: Mapping[str, Any], source: str) -> tuple[PopupRule, ...]:
    items = data.get("popups")
    if not isinstance(items, list) or not items:
        raise ProfileError(source, "popups", "must be a non-empty list of {name, detect, press, title, button}")
    rules = []
    for i, item in enumerate(items):
        key = f"popups[{i}]"
        if not isinstance(item, Mapping):
            raise ProfileError(source, key, f"must be a mapping, got {item!r}")
        for name in ("name", "title", "button"):
            if not isinstance(item.get(name), str) or not item.get(name):
                raise ProfileError(source, f"{key}.{name}", f"must be a non-empty string, got {item.get(name)!r}")
        rules.append(PopupRule(item["name"], _regex(item.get("detect"), source, f"{key}.detect"),
                               _regex(item.get("press"), source, f"{key}.press"), item["title"], item["button"]))
    return tuple(rules)


def _detection(data: Mapping[str, Any], key: str, source: str) -> tuple[tuple[re.Pattern[str], ...], str]:
    section = _mapping(data, key, source)
    patterns = tuple(_regex(p, source, f"{key}.patterns[{i}]")
                     for i, p in enumerate(_strings(section, "patterns", source, f"{key}.")))
    label = section.get("label")
    if not isinstance(label, str) or not any(p.search(label) for p in patterns):
        raise ProfileError(source, f"{key}.label", f"must be a string that one of the patterns matches, got {label!r}")
    return patterns, label


def _fields(data: Mapping[str, Any], source: str) -> dict[str, Rule]:
    section = _mapping(data, "fields", source)
    unknown = set(section) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS)
    if unknown:
        known = ", ".join(REQUIRED_FIELDS + OPTIONAL_FIELDS)
        raise ProfileError(source, f"fields.{sorted(unknown)[0]}", f"unknown field; known: {known}")
    rules = {}
    for name in REQUIRED_FIELDS + OPTIONAL_FIELDS:
        if name not in section:
            if name in REQUIRED_FIELDS:
                raise ProfileError(source, f"fields.{name}", "is required (a rule with attr, pattern and render)")
            continue
        rule = Rule.from_yaml(section[name], source, f"fields.{name}")
        if "value" not in rule.pattern.groupindex or not rule.render:
            raise ProfileError(source, f"fields.{name}", "needs a pattern with a (?P<value>...) group and a render template")
        rules[name] = rule
    if "state" not in rules["like"].pattern.groupindex:
        raise ProfileError(source, "fields.like.pattern", "needs a (?P<state>...) group telling liked from not liked")
    return rules


def profile_from_mapping(data: Mapping[str, Any], source: str = "<memory>") -> AppProfile:
    """Validate a parsed profile file and build the profile; errors name `source` and the key."""
    if not isinstance(data, Mapping):
        raise ProfileError(source, "<top>", "the file must hold a mapping")
    for key in ("name", "display_name", "main_activity", "liked_state", "unliked_state"):
        if not isinstance(data.get(key), str) or not data.get(key):
            raise ProfileError(source, key, f"must be a non-empty string, got {data.get(key)!r}")
    style = data.get("count_style")
    if style not in COUNT_STYLES:
        raise ProfileError(source, "count_style", f"must be one of {', '.join(COUNT_STYLES)}, got {style!r}")
    ads, ad_label = _detection(data, "ads", source)
    live, live_label = _detection(data, "live", source)
    login, login_text = _detection(data, "login_wall", source)
    return AppProfile(
        data["name"], data["display_name"], _strings(data, "packages", source), data["main_activity"],
        _strings(data, "feed_activities", source), _strings(data, "live_activities", source, required=False),
        style, Rule.from_yaml(data.get("feed_marker"), source, "feed_marker"), _fields(data, source),
        data["liked_state"], data["unliked_state"], _regex(data.get("hashtag_pattern"), source, "hashtag_pattern"),
        Rule.from_yaml(data.get("comment_input"), source, "comment_input"),
        Rule.from_yaml(data.get("comment_send"), source, "comment_send"),
        Rule.from_yaml(data.get("share_action"), source, "share_action"),
        ads, ad_label, live, live_label, login, login_text, _popups(data, source), source,
        *_engagement_rules(data, source))


def _engagement_rules(data: Mapping[str, Any], source: str) -> tuple[Rule | None, str | None, Rule | None, str]:
    """The optional follow and not-interested selectors (a profile without them cannot follow or dismiss)."""
    follow = Rule.from_yaml(data["follow"], source, "follow") if data.get("follow") is not None else None
    followed = data.get("followed_state")
    if follow is not None:
        if "state" not in follow.pattern.groupindex or not isinstance(followed, str) or not followed:
            raise ProfileError(source, "follow", "needs a (?P<state>...) group and a followed_state naming the "
                               "followed state")
    rule = data.get("not_interested")
    not_interested = Rule.from_yaml(rule, source, "not_interested") if rule is not None else None
    via = data.get("not_interested_via", "long_press")
    if via not in NOT_INTERESTED_VIA:
        raise ProfileError(source, "not_interested_via", f"must be one of {', '.join(NOT_INTERESTED_VIA)}, got {via!r}")
    return follow, followed, not_interested, via


def load_profile(name_or_path: str | Path) -> AppProfile:
    """Load a bundled profile by name (douyin, tiktok, kuaishou, bilibili) or a profile file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise ProfileError(str(name_or_path), "name",
                               f"no bundled profile; known: {', '.join(profile_names())}, or give a .yaml path")
    if not path.is_file():
        raise ProfileError(str(path), "<file>", "profile file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ProfileError(str(path), "<file>", f"not valid YAML: {err}") from err
    return profile_from_mapping(data, str(path))


def profile_names() -> tuple[str, ...]:
    """Names of the bundled profiles."""
    return tuple(sorted(p.stem for p in PROFILE_DIR.glob("*.yaml")))
