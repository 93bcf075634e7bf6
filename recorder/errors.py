"""The one base class of errors a user can fix: the root CLI prints its message on one line (exit 2)."""

from __future__ import annotations


class PersonaActError(Exception):
    """A known, user-fixable problem; the message names the file, key or option and says what to do.

    Library error types subclass it (often together with ValueError/RuntimeError/OSError), so the
    root command prints `error: <message>` and exits with code 2 instead of a traceback (`-v` shows it).
    """
