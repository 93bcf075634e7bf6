"""Which prompt style sandbox LLM agents use: 'json' for capable models, 'compact' line formats for small ones."""

from __future__ import annotations

import re

from personas.interview.small_model import STYLES, resolve_style

EMBEDDED_MODEL_NAMES = ("smollm2-135m-instruct",)  # names the embedded backend gives its model
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)")


def model_backend(model: object) -> str:
    """'embedded' for the embedded default chat model (judged by its name), else 'other'.

    >>> class M: name = "smollm2-135m-instruct"
    >>> model_backend(M()), model_backend(object())
    ('embedded', 'other')
    """
    name = str(getattr(model, "name", "")).lower()
    return "embedded" if name in EMBEDDED_MODEL_NAMES else "other"


def style_for(style: str, model: object) -> str:
    """'auto' becomes 'compact' for the embedded model and 'json' otherwise; explicit styles stay.

    >>> class M: name = "smollm2-135m-instruct"
    >>> style_for("auto", M()), style_for("auto", object()), style_for("json", M())
    ('compact', 'json', 'json')
    """
    return resolve_style(style, model_backend(model))


def check_style(style: str, owner: str) -> None:
    """ValueError naming the option when `style` is not auto, json or compact."""
    if style not in STYLES:
        raise ValueError(f"{owner}: style must be one of {', '.join(STYLES)}, got {style!r}")


def first_number(text: str) -> float | None:
    """The first plain number in the text (None when there is none).

    >>> first_number("WATCH 12.5 s"), first_number("about 3"), first_number("no idea"), first_number("v2 clip 7")
    (12.5, 3.0, None, 7.0)
    """
    match = _NUMBER.search(text)
    return float(match.group(1)) if match else None
