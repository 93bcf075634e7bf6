"""The `personaact` console command: a thin root that each package registers its subcommands on."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from personaact import __version__
from recorder.console import configure_logging, console

# Each module has `register(app)`; listed here so the composition root is the only place that knows them all.
COMMAND_MODULES = ("recorder.cli", "personas.cli", "sandbox.cli", "device.cli", "personaact.demo")

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


def main() -> None:
    """Console-script entry point."""
    app()
