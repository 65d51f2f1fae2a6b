"""The command-line library's own words (Click's and Typer's: "Usage:", "Options", "Show this message and
exit.", "Missing argument", …) through the catalogue, so ``--help`` and a mistyped command read in one
language.

Typer's panels translate with the standard library's global gettext domain, which would need a compiled
``.mo`` on disk; the project compiles its one catalogue in memory instead (integrations.i18n). So the
modules' ``_`` is replaced by functions that look the English text up in
:data:`LIBRARY_TEXT` (English → Chinese msgid) and translate the msgid; text not listed stays as the
library wrote it. Typer's panel titles are module constants read when help is drawn: they are set again
whenever :func:`localise` runs (at import and before every command, once the language is known).

Typer 0.29 carries its own copy of Click (``typer._click``) with English written in the code, no gettext:
the help option's text and the ``Usage:`` prefix are set by wrapping the two methods that make them.
Its parse errors ("Option '--x' requires an argument.", "Did you mean …") are f-strings inside the library:
they are rewritten on their way out (flows/cli_usage_errors.py).
"""

from __future__ import annotations

import importlib
from typing import Any

from flows.cli_usage_errors import wrap_usage_errors
from integrations.i18n import N_, _

LIBRARY_TEXT: dict[str, str] = {
    "Show this message and exit.": N_("显示本帮助并退出。"),
    "Usage:": N_("用法："),
    "Options": N_("选项"),
    "Arguments": N_("参数"),
    "Commands": N_("命令"),
    "[required]": N_("[必填]"),
    "required": N_("必填"),
    "[default: {}]": N_("[默认：{}]"),
    "default: {default}": N_("默认：{default}"),
    "[env var: {}]": N_("[环境变量：{}]"),
    "env var: {var}": N_("环境变量：{var}"),
    "(dynamic)": N_("（动态）"),
    "(deprecated) ": N_("（已弃用）"),
    "Error": N_("错误"),
    "Aborted.": N_("已中止。"),
    "Aborted!": N_("已中止！"),
    "Try [blue]'{command_path} {help_option}'[/] for help.": N_(
        "运行 [blue]'{command_path} {help_option}'[/] 查看帮助。"),
    "No such command {name!r}.": N_("没有命令 {name!r}。"),
    "Missing command.": N_("缺少命令。"),
}
"""Typer's English (its msgids, and the two texts of its Click copy) → the catalogue's Chinese msgid."""

_MODULES = ("typer.core", "typer.rich_utils")
_RICH_CONSTANTS = {
    "DEFAULT_STRING": "[default: {}]",
    "ENVVAR_STRING": "[env var: {}]",
    "REQUIRED_LONG_STRING": "[required]",
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commands",
    "ERRORS_PANEL_TITLE": "Error",
    "ABORTED_TEXT": "Aborted.",
    "RICH_HELP": "Try [blue]'{command_path} {help_option}'[/] for help.",
}


def library_gettext(message: str) -> str:
    """``message`` (Click's or Typer's English) in the language in force; unlisted text as written."""
    msgid = LIBRARY_TEXT.get(message)
    return _(msgid) if msgid else message


def _wrap_vendored_click() -> None:
    """Once: the help option's text and the ``Usage:`` prefix of Typer's own Click, in the language in force."""
    core = importlib.import_module("typer._click.core")
    formatting = importlib.import_module("typer._click.formatting")
    command, formatter = core.Command, formatting.HelpFormatter
    if getattr(command.get_help_option, "_fenghuo", False):
        return
    help_option, write_usage = command.get_help_option, formatter.write_usage

    def get_help_option(self: Any, ctx: Any) -> Any:
        option = help_option(self, ctx)
        if option is not None:
            option.help = library_gettext("Show this message and exit.")
        return option

    def usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, library_gettext("Usage:") + " " if prefix is None else prefix)

    get_help_option._fenghuo = True  # type: ignore[attr-defined]
    command.get_help_option = get_help_option
    formatter.write_usage = usage


def localise() -> None:
    """Route the libraries' text through the catalogue and set Typer's panel titles in the language in force."""
    _wrap_vendored_click()
    wrap_usage_errors()
    for name in _MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "_"):
            module._ = library_gettext  # type: ignore[attr-defined]
    rich_utils = importlib.import_module("typer.rich_utils")
    for constant, english in _RICH_CONSTANTS.items():
        setattr(rich_utils, constant, library_gettext(english))
