"""The virtual phone's state: a Feed shown as an app's screens, gestures that drive it, faults that disturb it."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from device.counts import format_count
from device.profiles import AppProfile, PopupRule
from device.virtual import hierarchy as hv
from device.virtual.render import category_colour, encode_jpeg, render_screen
from device.virtual.speech import check_voice
from device.virtual.touch import TouchScreen
from recorder.feed import Feed, Observation
from recorder.trace import VideoMeta

FAULT_KINDS = ("popup", "ad", "live", "login_wall", "crash", "hang", "disconnect")
DOUBLE_TAP_S = 0.5
LONG_PRESS_MS = 500  # a press held this long opens the video's long-press menu


@dataclass(frozen=True)
class FaultSchedule:
    """Seeded random faults: after each swipe, with probability `rate`, one of `kinds` happens."""

    kinds: tuple[str, ...] = ()
    rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault {sorted(unknown)[0]!r}; known: {', '.join(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must lie in [0, 1], got {self.rate}")


@dataclass
class PhoneState:
    """What is on screen besides the feed's video (mutable, guarded by the phone's lock)."""

    foreground: bool = True
    popup: PopupRule | None = None
    login_wall: bool = False
    inserted: str | None = None  # "ad" or "live" shown in front of the feed's current video
    panel: str | None = None  # "comment" or "share"
    typed: str = ""
    clipboard: str = ""
    liked: set[int] = field(default_factory=set)
    followed: set[str] = field(default_factory=set)  # authors this account follows
    hangs_left: int = 0
    offline_until: float = 0.0
    shown_at: float = field(default_factory=time.monotonic)


class VirtualPhone:
    """A phone running `profile`'s app over `feed`; `time_scale` feed seconds pass per wall second."""

    def __init__(self, feed: Feed, profile: AppProfile, serial: str = "virtual-0001", size: tuple[int, int] = (1080, 2400),
                 time_scale: float = 1.0, schedule: FaultSchedule = FaultSchedule(), hang_s: float = 3.0,
                 disconnect_s: float = 1.0, voice: str = "auto"):
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.feed, self.profile, self.serial, self.size = feed, profile, serial, size
        self.time_scale, self.schedule, self.hang_s, self.disconnect_s = time_scale, schedule, hang_s, disconnect_s
        self.voice = check_voice(voice)  # the text-to-speech engine its videos speak with (device.virtual.speech)
        self.state = PhoneState()
        self.lock = threading.RLock()
        self.touch = TouchScreen(size)
        self.stop_event = threading.Event()
        self.on_disconnect: list[Callable[[], None]] = []
        self.log: list[tuple[str, object]] = []  # what happened, for tests and the CLI
        self._rng = random.Random(schedule.seed)
        self._observation = feed.current()
        self._last_video_tap = -10.0
        self.shown: list[tuple[str, str | None, str | None, str | None]] = []  # (kind, video id, author, caption)
        # speaking() key -> (seconds of its speech played, its length): ground truth of what the audio let be heard
        self.spoken: dict[str, tuple[float, float]] = {}
        self._advancing = False
        self._log_shown()

    # --- what is shown -------------------------------------------------------------------------------
    @property
    def observation(self) -> Observation:
        """The feed's current video (what the app would show under any overlay)."""
        return self._observation

    def current_app(self) -> tuple[str, str]:
        """(package, activity) in front."""
        with self.lock:
            if not self.state.foreground:
                return hv.LAUNCHER_PACKAGE, hv.LAUNCHER_ACTIVITY
            live = self.state.inserted == "live" or (self.state.inserted is None and self._observation.meta.is_live)
            if live and self.profile.live_activities:
                return self.profile.package, self.profile.live_activities[0]
            return self.profile.package, self.profile.feed_activities[0]

    def _screen_kind(self) -> str:
        state = self.state
        if not state.foreground:
            return "launcher"
        if state.popup:
            return "popup"
        if state.login_wall:
            return "login_wall"
        if state.inserted:
            return state.inserted
        meta = self._observation.meta
        return "live" if meta.is_live else "ad" if meta.is_ad else "video"

    def _shown_meta(self) -> tuple[VideoMeta, str]:
        kind = self.state.inserted
        if kind == "ad":
            return VideoMeta(author="brand_official", caption="限时优惠 limited offer #sale", hashtags=("sale",),
                             like_count=321, comment_count=12, share_count=3, is_ad=True), self.profile.ad_label
        if kind == "live":
            return VideoMeta(author="live_host", caption="直播 live now", like_count=4567, is_live=True), self.profile.live_label
        meta = self._observation.meta
        label = self.profile.live_label if meta.is_live else self.profile.ad_label if meta.is_ad else ""
        return meta, label

    def boxes(self) -> list[hv.Box]:
        """The views on screen now, front-most last."""
        size, kind = self.size, self._screen_kind()
        if kind == "launcher":
            return hv.launcher_boxes(size, self.profile.display_name)
        if kind == "login_wall":
            return hv.login_wall_boxes(self.profile, size)
        meta, label = self._shown_meta()
        liked = self.state.inserted is None and self._liked()
        boxes = hv.video_boxes(self.profile, meta, liked, size, label)
        if self.profile.follow is not None and not self.state.inserted:
            boxes.append(hv.follow_box(self.profile, meta.author in self.state.followed, size))
        if self.state.panel == "menu" or (self.state.panel == "share" and self.profile.not_interested_via == "share"):
            boxes += hv.not_interested_boxes(self.profile, size)
        if self.state.panel == "comment":
            boxes += hv.comment_boxes(self.profile, size, self.state.typed)
        elif self.state.panel == "share":
            boxes += hv.share_boxes(self.profile, size)
        if kind == "popup":
            boxes += hv.popup_boxes(self.state.popup, size)  # type: ignore[arg-type]
        return boxes

    def hierarchy_xml(self) -> str:
        """The dump uiautomator would return now."""
        with self.lock:
            package = self.current_app()[0]
            return hv.to_xml(self.boxes(), self.size, package)

    def screenshot_jpeg(self, quality: int = 80) -> bytes:
        """The screen as JPEG bytes."""
        return encode_jpeg(self.screen_frame(), quality)

    def screen_frame(self, scale: int = 4, upscale: bool = True) -> np.ndarray:
        """The screen as a BGR image (drawn at 1/`scale`; full size when `upscale`), as screenshots and scrcpy see it."""
        with self.lock:
            meta, _ = self._shown_meta()
            category = self._observation.category
            lines = [f"@{meta.author or ''}", meta.caption or "",
                     f"#{self._observation.position} {'/'.join(category.path) if category else ''}"]
            popup = self.state.popup
            overlay = [popup.title, popup.button] if popup and self.state.foreground else []
            colour = category_colour(category) if self.state.foreground else (40, 40, 40)
            controls = self._drawn_controls() if self.state.foreground else []
            elapsed = time.monotonic() - self.state.shown_at
            pattern = f"{self._screen_kind()}:{self._observation.position}:{meta.author}:{meta.caption}"
        return render_screen(self.size, lines, colour, elapsed, overlay, scale=scale, controls=controls,
                             pattern=pattern if self.state.foreground else None, upscale=upscale)

    def speaking(self) -> tuple[str, str, float]:
        """(what is shown, what it says, wall seconds since it appeared): the audio the scrcpy stream plays."""
        with self.lock:
            if not self.state.foreground:
                return "launcher", "", 0.0
            inserted = self.state.inserted
            meta, _ = self._shown_meta()
            text = meta.caption or "" if inserted else self._observation.transcript or meta.caption or ""
            key = f"{inserted or 'video'}:{self._observation.position}"
            return key, text, time.monotonic() - self.state.shown_at

    def upcoming_speech(self) -> tuple[str, str] | None:
        """(key, text) of the next feed video's speech when the feed can tell (a replayed trace), else None."""
        steps = getattr(getattr(self.feed, "trace", None), "steps", None)
        with self.lock:
            position = self._observation.position + 1
        if not steps:
            return None
        step = steps[position % len(steps)]
        text = step.transcript or step.meta.caption or ""
        return (f"video:{position}", text) if text else None

    def _drawn_controls(self) -> list[tuple[tuple[int, int, int, int], str, bool]]:
        """The like/comment/favourite/share controls with their counts, as the hierarchy reports them."""
        wanted = ("like", "comment", "favorite", "share")
        meta, _ = self._shown_meta()
        liked = self.state.inserted is None and self._liked()
        label = lambda name: f"{name[0].upper()} {format_count(getattr(meta, f'{name}_count') or 0, 'en')}"  # noqa: E731
        return [(b.bounds, label(b.name), b.name == "like" and liked) for b in self.boxes() if b.name in wanted]

    def _liked(self) -> bool:
        return self._observation.liked or self._observation.position in self.state.liked

    # --- gestures ------------------------------------------------------------------------------------
    def _hit(self, x: int, y: int) -> str | None:
        for item in reversed(self.boxes()):
            left, top, right, bottom = item.bounds
            if item.clickable and left <= x < right and top <= y < bottom:
                return item.name
        return None

    def tap(self, x: int, y: int, hold_ms: int = 60) -> None:
        """A finger taps (x, y) (held `hold_ms`: long presses do nothing more than taps here)."""
        self.touch.gesture([(x, y)], hold_ms / 1000)
        with self.lock:
            self.log.append(("tap", (x, y)))
            target = self._hit(x, y)
            if target == "video" and hold_ms >= LONG_PRESS_MS and self.profile.not_interested_via == "long_press":
                self._open("menu")
            elif target is not None:
                self._press(target)

    def _press(self, target: str) -> None:
        state = self.state
        actions: dict[str, Callable[[], None]] = {
            "button": self._dismiss_popup, "icon": self._launch, "like": self._toggle_like,
            "comment": lambda: self._open("comment"), "share": lambda: self._open("share"),
            "send": self._send_comment, "share_action": self._share, "video": self._video_tap,
            "input": lambda: None, "follow": self._follow, "not_interested": self._not_interested,
        }
        if state.popup and target != "button":
            return  # a modal dialog swallows touches elsewhere
        if state.inserted and target in ("like", "comment", "share", "follow", "not_interested"):
            return  # likes on inserted ads/lives do not reach the feed
        action = actions.get(target)
        if action:
            action()

    def _dismiss_popup(self) -> None:
        self.log.append(("popup_dismissed", self.state.popup.name if self.state.popup else None))
        self.state.popup = None

    def _launch(self) -> None:
        self.state.foreground = True

    def _toggle_like(self) -> None:
        position = self._observation.position
        if self._liked():
            self.state.liked.discard(position)
            self.log.append(("unlike", position))
            return
        if self.feed.like():
            self.state.liked.add(position)
            self.log.append(("like", position))

    def _follow(self) -> None:
        author = self._observation.meta.author
        if author and author not in self.state.followed and self.feed.follow():
            self.state.followed.add(author)
            self.log.append(("follow", self._observation.position))

    def _not_interested(self) -> None:
        self.state.panel = None
        if self.feed.not_interested():
            self.log.append(("not_interested", self._observation.position))
            self._advance()  # the app drops the video and shows the next one

    def _log_shown(self) -> None:
        """Note what the screen shows now (the ground truth a trace is checked against)."""
        kind = self.state.inserted
        if kind:
            self.shown.append((kind, None, None, None))
        else:
            meta = self._observation.meta
            self.shown.append(("live" if meta.is_live else "ad" if meta.is_ad else "video", meta.video_id, meta.author,
                               hv.caption_with_tags(meta)))

    def _video_tap(self) -> None:
        now = time.monotonic()
        if now - self._last_video_tap <= DOUBLE_TAP_S and not self.state.inserted and not self._liked():
            self._toggle_like()  # double-tap on the video likes it, as in every short-video app
            now = -10.0
        self._last_video_tap = now

    def _open(self, panel: str) -> None:
        self.state.panel, self.state.typed = panel, ""

    def _send_comment(self) -> None:
        if self.state.typed and self.feed.comment(self.state.typed):
            self.log.append(("comment", self.state.typed))
        self.state.panel, self.state.typed = None, ""

    def _share(self) -> None:
        if self.feed.share():
            self.log.append(("share", self._observation.position))
        self.state.panel = None

    def paste(self) -> None:
        """Paste the clipboard into the open comment box."""
        with self.lock:
            if self.state.panel == "comment":
                self.state.typed += self.state.clipboard

    def type_text(self, text: str) -> None:
        """Type into the open comment box (`input text`)."""
        with self.lock:
            if self.state.panel == "comment":
                self.state.typed += text

    def back(self) -> None:
        """The back key closes a panel."""
        with self.lock:
            self.state.panel, self.state.typed = None, ""

    def swipe(self, fx: int, fy: int, tx: int, ty: int, duration_s: float = 0.1) -> None:
        """A finger drags from (fx, fy) to (tx, ty); a long upward drag moves to the next video."""
        self.touch.gesture([(fx, fy), (tx, ty)], duration_s)
        with self.lock:
            self.log.append(("swipe", (fx, fy, tx, ty)))
            blocked = not self.state.foreground or self.state.popup or self.state.login_wall
            if blocked or fy - ty < self.size[1] * 0.2 or abs(tx - fx) > abs(fy - ty):
                return
            self.state.panel = None
            self._advance()

    def _advance(self) -> None:
        if self.state.inserted:
            self.state.inserted = None  # the feed's video waited behind the ad / live room
        else:
            dwell = (time.monotonic() - self.state.shown_at) * self.time_scale
            self.feed.watch(dwell)
            self._observation = self.feed.next()
        self.state.shown_at = time.monotonic()
        self._advancing = True
        try:
            self._scheduled_fault()
        finally:
            self._advancing = False
        self._log_shown()

    def _scheduled_fault(self) -> None:
        if self.schedule.kinds and self._rng.random() < self.schedule.rate:
            self.inject(self._rng.choice(self.schedule.kinds))

    # --- apps ----------------------------------------------------------------------------------------
    def start_app(self, package: str) -> bool:
        """`am start` / `monkey`: bring the app to the front; False for packages not installed."""
        with self.lock:
            if package not in self.profile.packages:
                return False
            self.state.foreground = True
            self.log.append(("app_start", package))
            return True

    def stop_app(self, package: str) -> None:
        """`am force-stop`: the launcher comes to the front."""
        with self.lock:
            if package in self.profile.packages:
                self.state.foreground, self.state.panel, self.state.popup = False, None, None

    # --- faults --------------------------------------------------------------------------------------
    def inject(self, kind: str, popup: str | None = None) -> None:
        """Make a fault happen now (see FAULT_KINDS); `popup` names which popup of the profile."""
        with self.lock:
            self.log.append(("fault", kind))
            if kind == "popup":
                self.state.popup = self.profile.popup(popup) if popup else self._rng.choice(self.profile.popups)
            elif kind in ("ad", "live"):
                self.state.inserted = kind
                if not self._advancing:
                    self._log_shown()
            elif kind == "login_wall":
                self.state.login_wall = True
            elif kind == "crash":
                self.state.foreground, self.state.panel, self.state.popup = False, None, None
            elif kind == "hang":
                self.state.hangs_left += 1
            elif kind == "disconnect":
                self.state.offline_until = time.monotonic() + self.disconnect_s
            else:
                raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        if kind == "disconnect":
            for callback in list(self.on_disconnect):
                callback()

    def clear_login_wall(self) -> None:
        """The user logged in."""
        with self.lock:
            self.state.login_wall = False

    @property
    def online(self) -> bool:
        """False while a disconnect lasts."""
        return time.monotonic() >= self.state.offline_until

    def take_hang(self) -> bool:
        """True (once per injected hang) when this dump should hang."""
        with self.lock:
            if self.state.hangs_left > 0:
                self.state.hangs_left -= 1
                return True
            return False
