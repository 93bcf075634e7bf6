"""The `personaact` console command: a thin root that each package registers its subcommands on."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.markup import escape

from personaact import __version__
from personaact.helptext import tidy_help
from recorder.console import configure_logging, console, err_console
from recorder.errors import PersonaActError

# Each module has `register(app)`; listed here so the composition root is the only place that knows them all.
COMMAND_MODULES = ("recorder.cli", "personas.cli", "personas.cli_policy", "sandbox.cli", "device.cli",
                   "device.cli_record", "audit.cli", "reports.cli", "personaact.demo")

app = typer.Typer(
    name="personaact",
    help="Audit short-video recommender systems from the outside: record, interview, train persona agents, "
         "audit filter bubbles on phones or in the sandbox, and report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"personaact {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv for debug).")] = 0,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    """PersonaAct auditing toolkit."""
    configure_logging(verbose)


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


# Errors a person can fix besides PersonaActError: missing or unreadable files, a server that is down or silent.
# Anything else is a bug and keeps its traceback.
KNOWN_ERRORS: tuple[type[BaseException], ...] = (
    PersonaActError, FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError,
    ConnectionError, TimeoutError, UnicodeDecodeError,
)
_VERBOSE_FLAGS = {"--verbose": 1, "-v": 1, "-vv": 2, "-vvv": 3}


def hoist_verbose(args: Sequence[str]) -> tuple[list[str], int]:
    """Move -v/-vv/--verbose from anywhere before `--` to the front, so `personaact trace show X -v` works too."""
    rest: list[str] = []
    level = 0
    for position, arg in enumerate(args):
        if arg == "--":
            rest.extend(args[position:])
            break
        if arg in _VERBOSE_FLAGS:
            level += _VERBOSE_FLAGS[arg]
        else:
            rest.append(arg)
    return (["-" + "v" * level] if level else []) + rest, level


def error_line(err: BaseException) -> str:
    """The one-line message of a known error (multi-line messages joined with '; ')."""
    text = str(err) or type(err).__name__
    if isinstance(err, OSError) and err.filename and str(err.filename) not in text:
        text = f"{err.filename}: {text}"
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def quiet_libraries() -> None:
    """Keep third-party loading bars and FutureWarnings off stderr unless -v was given."""
    for name, value in (("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
                        ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"), ("TOKENIZERS_PARALLELISM", "false"),
                        ("RAY_DEDUP_LOGS", "1"), ("TQDM_DISABLE", "1")):
        os.environ.setdefault(name, value)
    for category in (FutureWarning, DeprecationWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: a known error prints one `error: ...` line and exits 2 (-v: the traceback)."""
    args, verbose = hoist_verbose(sys.argv[1:] if argv is None else argv)
    if verbose == 0:
        quiet_libraries()
    try:
        tidy_help(typer.main.get_command(app)).main(args=args, prog_name="personaact")
    except KNOWN_ERRORS as err:
        if verbose:
            traceback.print_exc()
        err_console.print(f"[red]error:[/red] {escape(error_line(err))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted", highlight=False)
        sys.exit(130)
