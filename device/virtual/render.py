"""Draw the virtual phone's screen with OpenCV: the current video (title, author, category colour, moving frame)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import cv2
import numpy as np

from recorder.trace import Category


def category_colour(category: Category | None) -> tuple[int, int, int]:
    """BGR colour of the top-level category from the taxonomy, or one derived from its name."""
    if category is None:
        return (90, 90, 90)
    try:
        from recorder.taxonomy import load_taxonomy

        return tuple(load_taxonomy().colour(category.path))  # type: ignore[return-value]
    except Exception:  # a name the taxonomy lacks still gets a stable colour
        digest = hashlib.sha1(category.top.encode("utf-8")).digest()
        return (60 + digest[0] % 160, 60 + digest[1] % 160, 60 + digest[2] % 160)


def _ascii(text: str) -> str:
    # OpenCV's Hershey fonts draw ASCII only; other characters become '?' so layout stays honest.
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)


# A control drawn on screen: its pixel bounds, its label, and whether it is "on" (e.g. liked).
Control = tuple[tuple[int, int, int, int], str, bool]


def render_screen(size: tuple[int, int], lines: Sequence[str], colour: tuple[int, int, int], t_s: float,
                  overlay: Sequence[str] = (), scale: int = 4, controls: Sequence[Control] = (),
                  pattern: str | None = None, upscale: bool = True) -> np.ndarray:
    """A BGR frame (`size` = width, height, drawn at 1/`scale` then upscaled unless `upscale` is False).

    `pattern` seeds shapes that make each video look different, as real videos do, even within one category.
    """
    width, height = size[0] // scale, size[1] // scale
    frame = np.full((height, width, 3), colour, dtype=np.uint8)
    if pattern:
        _draw_pattern(frame, pattern)
    # A bar sweeping down the frame makes consecutive screenshots differ, as a playing video does.
    y = int((t_s * 60) % height)
    cv2.rectangle(frame, (0, y), (width, min(height, y + height // 20)), (255, 255, 255), -1)
    _draw_controls(frame, controls, scale)
    for i, line in enumerate(lines):
        cv2.putText(frame, _ascii(line)[:40], (8, height - 120 + 22 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (255, 255, 255), 1, cv2.LINE_AA)
    if overlay:
        cv2.rectangle(frame, (width // 10, height * 3 // 8), (width * 9 // 10, height * 5 // 8), (245, 245, 245), -1)
        for i, line in enumerate(overlay):
            cv2.putText(frame, _ascii(line)[:30], (width // 10 + 8, height * 3 // 8 + 30 + 24 * i),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.45, (30, 30, 30), 1, cv2.LINE_AA)
    return cv2.resize(frame, size, interpolation=cv2.INTER_NEAREST) if upscale else frame


def _draw_pattern(frame: np.ndarray, seed_text: str) -> None:
    """Three large discs whose places and shades come from `seed_text` (stable for one video)."""
    digest = hashlib.sha1(seed_text.encode("utf-8")).digest()
    height, width = frame.shape[:2]
    for i in range(3):
        a, b, c, d = digest[4 * i:4 * i + 4]
        centre = (a * width // 256, b * height // 256)
        cv2.circle(frame, centre, max(8, width // 6 + c % (width // 4)), (d, 255 - d, (d * 7) % 256), -1)


def _draw_controls(frame: np.ndarray, controls: Sequence[Control], scale: int) -> None:
    """Outline each control where the hierarchy says it is, with its label; "on" controls are filled red."""
    for (left, top, right, bottom), label, active in controls:
        corner1, corner2 = (left // scale, top // scale), (right // scale - 1, bottom // scale - 1)
        if active:
            cv2.rectangle(frame, corner1, corner2, (60, 40, 230), -1)
        cv2.rectangle(frame, corner1, corner2, (255, 255, 255), 1)
        cv2.putText(frame, _ascii(label)[:8], (corner1[0] + 2, corner2[1] - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                    (255, 255, 255), 1, cv2.LINE_AA)


def encode_jpeg(frame: np.ndarray, quality: int = 80) -> bytes:
    """JPEG bytes of a BGR frame (what uiautomator's takeScreenshot returns, before base64)."""
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode the screenshot as JPEG")
    return data.tobytes()
