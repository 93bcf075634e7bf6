"""App profiles: metadata parsing on every fixture of every app, count parsing, and profile validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from device.counts import format_count, parse_count
from device.profiles import PROFILE_DIR, ProfileError, load_profile, profile_from_mapping, profile_names
from device.screens import HierarchyError, parse_screen

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "device"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
APPS = ("douyin", "tiktok", "kuaishou", "bilibili")


def screen(app: str, kind: str):
    return parse_screen((FIXTURES / f"{app}_{kind}.xml").read_text(encoding="utf-8"), load_profile(app))


def test_all_four_profiles_ship():
    assert set(APPS) <= set(profile_names())


@pytest.mark.parametrize("app", APPS)
def test_feed_fixture_metadata(app):
    s = screen(app, "feed")
    want = EXPECTED[app]["meta"]
    got = {k: getattr(s.meta, k) for k in want}
    want["hashtags"] = tuple(want["hashtags"])
    assert s.kind == "video" and s.is_feed and got == want
    assert s.liked is EXPECTED[app]["liked"]
    assert set(s.controls) >= {"like", "comment", "share"}


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("kind", ["ad", "live", "popup", "login_wall"])
def test_special_screens_are_recognised(app, kind):
    s = screen(app, kind)
    assert s.kind == kind
    if kind == "ad":
        assert s.meta.is_ad and s.meta.author == EXPECTED[app]["meta"]["author"]
    if kind == "live":
        assert s.meta.is_live and not s.meta.is_ad
    if kind == "popup":
        assert s.popup is not None and "dismiss" in s.controls


@pytest.mark.parametrize("text,value", [
    ("1.2万", 12_000), ("3亿", 300_000_000), ("1.2K", 1_200), ("3.4M", 3_400_000), ("12,345", 12_345),
    ("1.5w", 15_000), ("999", 999), ("10万+", 100_000), ("喜欢2.5万", 25_000), ("赞", None), ("", None), (None, None),
    ("1.2B", 1_200_000_000), ("0", 0)])
def test_count_parsing(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize("value,style,text", [
    (9_999, "zh", "9999"), (12_345, "zh", "1.2万"), (10_000, "zh", "1万"), (123_456_789, "zh", "1.2亿"),
    (15_999, "w", "1.5w"), (999, "en", "999"), (12_345, "en", "12.3K"), (3_456_789, "en", "3.4M")])
def test_count_formatting_rounds_down_like_the_apps(value, style, text):
    assert format_count(value, style) == text


def _douyin() -> dict:
    return yaml.safe_load((PROFILE_DIR / "douyin.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("breakage,key", [
    (lambda d: d.pop("packages"), "packages"),
    (lambda d: d["fields"].pop("like"), "fields.like"),
    (lambda d: d["fields"]["author"].update(pattern="(unclosed"), "fields.author.pattern"),
    (lambda d: d["fields"]["author"].update(attr="resource-id"), "fields.author.attr"),
    (lambda d: d.update(count_style="roman"), "count_style"),
    (lambda d: d["popups"][1].pop("press"), "popups[1].press"),
    (lambda d: d["ads"].update(label="nothing matches"), "ads.label"),
])
def test_broken_profile_names_the_key(tmp_path, breakage, key):
    data = _douyin()
    breakage(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert err.value.key == key and str(path) in str(err.value)


def test_unknown_profile_name_lists_the_known_ones():
    with pytest.raises(ProfileError, match="douyin"):
        load_profile("myspace")


def test_like_rule_needs_a_state_group():
    data = _douyin()
    data["fields"]["like"]["pattern"] = "^喜欢(?P<value>.+)$"
    with pytest.raises(ProfileError, match="state"):
        profile_from_mapping(data, "x.yaml")


def test_bad_xml_is_a_clear_error():
    with pytest.raises(HierarchyError, match="not valid XML"):
        parse_screen("<hierarchy><node", load_profile("douyin"))
