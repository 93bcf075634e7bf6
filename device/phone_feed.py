"""PhoneFeed: the Feed protocol over a Device and an app profile (read the hierarchy, press the profile's controls)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from device.base import Device, DeviceDisconnected
from device.profiles import AppProfile
from device.screens import Screen, find, parse_nodes, parse_screen
from recorder.feed import Clock, FeedError, Observation, WallClock

log = logging.getLogger(__name__)
T = TypeVar("T")


class LoginWallError(FeedError):
    """The app wants a login before it shows the feed."""


class PhoneFeed:
    """A Feed on a real (or virtual) phone; ads, live rooms and dismissed popups are surfaced, not hidden."""

    def __init__(self, device: Device, profile: AppProfile, clock: Clock | None = None, with_frames: bool = False,
                 max_recoveries: int = 5, settle_s: float = 0.0):
        self.device, self.profile = device, profile
        self.clock = clock or WallClock()
        self.with_frames, self.max_recoveries, self.settle_s = with_frames, max_recoveries, settle_s
        self.preflight = self._resilient(lambda: device.preflight(profile.package))
        self.position = 0
        self.incidents: list[tuple[int, str, str]] = []  # (position, kind, detail): popups, crashes, reconnects

    def _note(self, kind: str, detail: str = "") -> None:
        log.info("%s at position %d: %s", kind, self.position, detail)
        self.incidents.append((self.position, kind, detail))

    def _resilient(self, action: Callable[[], T]) -> T:
        """Run `action`; after a disconnect, reconnect with backoff and run it once more."""
        try:
            return action()
        except DeviceDisconnected as err:
            self._note("reconnect", str(err))
            self.device.reconnect()  # type: ignore[attr-defined]
            return action()

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
        return Observation(self.position, self.clock.now(), screen.meta, None, None, frame, bool(screen.liked), kind)

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
        self._resilient(lambda: self.device.tap(*screen.controls["like"]))
        self._settle()
        return bool(self.screen().liked)

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
        """Swipe up to the next video."""
        self.screen()  # clears popups/crashes first, or the swipe would land on them
        w, h = self.preflight.width, self.preflight.height
        self._resilient(lambda: self.device.swipe(w // 2, int(h * 0.75), w // 2, int(h * 0.25), 0.15))
        self.position += 1
        self._settle()
        return self.current()

    def close(self) -> None:
        """Let go of the phone."""
        self.device.close()
