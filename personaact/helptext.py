"""Plain `--help` for every subcommand: NAME... arguments, plain type names, and a shown default for every option."""

from __future__ import annotations

import re
from typing import Any

_DEFAULT_IN_HELP = re.compile(r"\s*\[default: ([^\]]*)\]\s*$")
_TYPE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "path": "PATH", "file": "FILE", "directory": "DIR"}


def tidy_help(command: Any) -> Any:
    """Plain help for every subcommand: NAME... not {name}... or <list[Path]>, and defaults that show.

    Options whose real default comes from a config file are declared `None` with "[default: X]" at the end
    of their help; Rich would swallow that as markup, so it becomes the option's shown default instead.
    """
    configurable = any(p.name == "config" for p in getattr(command, "params", []))
    for param in getattr(command, "params", []):
        from_config = configurable and param.name not in ("config", "set_", "overrides")
        _tidy_param(param, "from --config, else built in" if from_config else "none")
    original_help_option = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = original_help_option(ctx)
        if option is not None:
            _tidy_param(option)
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)
    return command


def _tidy_param(param: Any, unset: str = "none") -> None:
    if param.param_type_name == "argument":
        name = param.name.upper()
        many = "..." if param.nargs != 1 else ""
        param.metavar = name + many
        usage = (name if param.required else f"[{name}]") + many
        param._usage_display_name = lambda: usage
        param.display_type_rich = lambda ctx: None
        return
    if param.param_type_name != "option":
        return
    match = _DEFAULT_IN_HELP.search(param.help or "")
    if match:
        param.help = param.help[: match.start()]
        shown = match.group(1)
        param.show_default = shown
        param._get_default_string = lambda **_: shown  # typer would wrap a string default in parentheses
    elif param.default in (None, (), []) and not isinstance(param.show_default, str) and not param.is_flag:
        param.show_default = unset
        param._get_default_string = lambda **_: unset
    if param.is_flag or param.count:
        param.display_type_rich = lambda ctx: None
        return
    original = param.display_type_rich

    def plain_type(ctx: Any, original: Any = original) -> str | None:
        label = (original(ctx) or "").strip("<>")
        label = re.sub(r"^list\[(.*)\]$", r"\1", label)
        label = label.removesuffix(" range")  # "int range" (a min/max option): the bounds are listed after the type
        return _TYPE_NAMES.get(label.lower(), label.upper() if label.isidentifier() else label) or None

    param.display_type_rich = plain_type
