"""Terminal output shared by every command: one rich console, logging setup, progress bars."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console()
err_console = Console(stderr=True)


def configure_logging(verbosity: int = 0) -> None:
    """Quiet by default (warnings only); -v shows progress notes, -vv shows debug detail."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(
        level=level,
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, show_time=verbosity >= 2)],
        force=True,
    )
    # Third-party libraries are chatty at INFO; keep them a level quieter than ours.
    for noisy in ("httpx", "httpcore", "urllib3", "faster_whisper", "transformers", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@contextmanager
def progress_bar(total: int | None, description: str) -> Iterator[Callable[..., None]]:
    """A progress bar on stderr; yields `advance(n=1)`. Hidden when stderr is not a terminal."""
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=True,
        disable=not err_console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            progress.advance(task, n)

        yield advance
