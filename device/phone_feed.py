"""PhoneFeed: the Feed protocol over a Device and an app profile (read the hierarchy, press the profile's controls)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from device.base import Device, DeviceDisconnected
from device.profiles import AppProfile
from device.screens import Screen, find, parse_nodes, parse_screen
from recorder.feed import Clock, FeedError, Observation, WallClock

log = logging.getLogger(__name__)
T = TypeVar("T")


class LoginWallError(FeedError):
    """The app wants a login before it shows the feed."""


class _Interrupted(Exception):
    """A tap or swipe hit a disconnect; the phone is back, and whether the gesture landed is unknown."""


def _identity(screen: Screen) -> tuple[str | None, str | None, str]:
    """What tells one video's screen from the next (the hierarchy carries no video id)."""
    return screen.meta.author, screen.meta.caption, screen.kind


class PhoneFeed:
    """A Feed on a real (or virtual) phone; ads, live rooms and dismissed popups are surfaced, not hidden."""

    def __init__(self, device: Device, profile: AppProfile, clock: Clock | None = None, with_frames: bool = False,
                 max_recoveries: int = 5, settle_s: float = 0.0, swipe_s: float = 0.15):
        self.device, self.profile = device, profile
        self.clock = clock or WallClock()
        self.with_frames, self.max_recoveries, self.settle_s = with_frames, max_recoveries, settle_s
        self.swipe_s = swipe_s  # a slower drag reads as a scroll on real phones, a much faster one as a fling
        self.preflight = self._resilient(lambda: device.preflight(profile.package))
        self.position = 0
        self.incidents: list[tuple[int, str, str]] = []  # (position, kind, detail): popups, crashes, reconnects
        self._shown: tuple[str | None, str | None, str] | None = None  # identity of the last observed screen
        self._moved = False
        self._appeared: datetime | None = None  # when the current video came on screen (set by next())

    def _note(self, kind: str, detail: str = "") -> None:
        log.info("%s at position %d: %s", kind, self.position, detail)
        self.incidents.append((self.position, kind, detail))

    def _resilient(self, action: Callable[[], T], retry: bool = True) -> T:
        """Run `action`; after a disconnect, reconnect with backoff, then run it once more only if `retry`
        (reads are safe to repeat; taps and swipes are not: callers re-observe instead)."""
        try:
            return action()
        except DeviceDisconnected as err:
            self._note("reconnect", str(err))
            self.reconnect()
            if not retry:
                raise _Interrupted() from err
            return action()

    def reconnect(self) -> None:
        """Reattach to the phone after a disconnect (the caller re-observes before acting again)."""
        self.device.reconnect()  # type: ignore[attr-defined]

    def _settle(self) -> None:
        if self.settle_s:
            self.clock.sleep(self.settle_s)

    def screen(self) -> Screen:
        """The current screen, after restarting a crashed app and dismissing known popups (bounded)."""
        return self._resilient(self._screen)

    def _screen(self) -> Screen:
        for _ in range(self.max_recoveries + 1):
            package, activity = self.device.app_current()
            if package not in self.profile.packages:
                self._note("crash", f"{package} in front; restarting {self.profile.package}")
                self.device.app_start(self.profile.package, self.profile.main_activity)
                self._settle()
                continue
            screen = parse_screen(self.device.hierarchy(), self.profile, activity)
            if screen.kind == "login_wall":
                raise LoginWallError(f"{self.profile.display_name} shows a login wall on {self.device.serial}; "
                                     "log in on the phone (use a fresh audit account), then run again")
            if screen.kind != "popup":
                return screen
            self._note("popup", screen.popup.name if screen.popup else "")
            self.device.tap(*screen.controls["dismiss"])
            self._settle()
        raise FeedError(f"{self.profile.display_name} kept showing popups or crashing after {self.max_recoveries} "
                        "recoveries; check the phone, and add new popups to the app profile")

    def current(self) -> Observation:
        """The video on screen: metadata read through the profile; screen says video, ad or live."""
        screen = self.screen()
        frame = self._resilient(self.device.screenshot) if self.with_frames else None
        kind = screen.kind if screen.kind in ("video", "ad", "live") else "video"
        self._shown = _identity(screen)
        shown_at = self._appeared or self.clock.now()  # when the swipe landed, not when the dump came back
        return Observation(self.position, shown_at, screen.meta, None, None, frame, bool(screen.liked), kind)

    def watch(self, seconds: float) -> None:
        """Stay on the video."""
        self.clock.sleep(seconds)

    def like(self) -> bool:
        """Press like unless liked already; True once the hierarchy shows the liked state."""
        screen = self.screen()
        if screen.liked:
            return True
        if "like" not in screen.controls:
            return False
        self._tap_once(screen.controls["like"])
        return bool(self.screen().liked)  # a tap lost in a disconnect shows as not liked: never toggled twice

    def _tap_once(self, point: tuple[int, int]) -> None:
        """Tap without repeating it after a disconnect (the caller re-reads the state instead)."""
        try:
            self._resilient(lambda: self.device.tap(*point), retry=False)
        except _Interrupted:
            return
        self._settle()

    def follow(self) -> bool:
        """Press the profile's follow control unless followed already; True once it shows followed (or is gone)."""
        rule = self.profile.follow
        if rule is None:
            return False
        hit = find(parse_nodes(self._resilient(self.device.hierarchy)), rule)
        if hit is None:
            return False
        if hit[1].group("state") == self.profile.followed_state:
            return True
        self._tap_once(hit[0].center)
        after = find(parse_nodes(self._resilient(self.device.hierarchy)), rule)
        return after is None or after[1].group("state") == self.profile.followed_state

    def not_interested(self) -> bool:
        """Open the long-press menu (or share sheet) and pick "not interested"; True once the app removed the video."""
        rule = self.profile.not_interested
        if rule is None:
            return False
        before = _identity(self.screen())
        if self.profile.not_interested_via == "share":
            screen = self.screen()
            if "share" not in screen.controls:
                return False
            self._tap_once(screen.controls["share"])
        else:
            w, h = self.preflight.width, self.preflight.height
            try:
                self._resilient(lambda: self.device.long_press(w // 2, h // 2, 0.8), retry=False)
            except _Interrupted:
                return False
            self._settle()
        hit = find(parse_nodes(self._resilient(self.device.hierarchy)), rule)
        if hit is None:
            self._resilient(self.device.back)  # close the menu; nothing to confirm
            return False
        self._tap_once(hit[0].center)
        moved = _identity(self.screen()) != before
        self._moved = self._moved or moved  # the app shows the next video itself: next() must not swipe again
        return moved

    def _press(self, rule_name: str) -> bool:
        nodes = parse_nodes(self._resilient(self.device.hierarchy))
        hit = find(nodes, getattr(self.profile, rule_name))
        if hit is None:
            return False
        self._resilient(lambda: self.device.tap(*hit[0].center))
        self._settle()
        return True

    def comment(self, text: str) -> bool:
        """Open comments, type `text`, send; True when the send control was pressed."""
        screen = self.screen()
        if "comment" not in screen.controls:
            return False
        self._resilient(lambda: self.device.tap(*screen.controls["comment"]))
        self._settle()
        if not self._press("comment_input"):
            return False
        self._resilient(lambda: self.device.type_text(text))
        sent = self._press("comment_send")
        if not sent:
            self._resilient(self.device.back)
        return sent

    def share(self) -> bool:
        """Open the share sheet and take the profile's share action (copy link)."""
        screen = self.screen()
        if "share" not in screen.controls:
            return False
        self._resilient(lambda: self.device.tap(*screen.controls["share"]))
        self._settle()
        shared = self._press("share_action")
        if not shared:
            self._resilient(self.device.back)
        return shared

    def next(self) -> Observation:
        """Swipe up to the next video; after a disconnect, look first and swipe again only if the swipe was lost."""
        if self._moved:  # "not interested" already took the app to the next video
            self._moved = False
            self.position += 1
            self._appeared = None  # it appeared while "not interested" was confirmed: the dump time is close enough
            return self.current()
        shown = self._shown
        self.screen()  # clears popups/crashes first, or the swipe would land on them
        w, h = self.preflight.width, self.preflight.height
        for _ in range(self.max_recoveries + 1):
            try:
                self._resilient(lambda: self.device.swipe(w // 2, int(h * 0.75), w // 2, int(h * 0.25), self.swipe_s),
                                retry=False)
                break
            except _Interrupted:
                if shown is not None and _identity(self.screen()) != shown:
                    break  # the swipe landed before the line dropped
        self.position += 1
        self._appeared = self.clock.now()
        self._settle()
        return self.current()

    def close(self) -> None:
        """Let go of the phone."""
        self.device.close()
