"""The command line's usage errors (a mistyped option, a missing argument, a value of the wrong type) in the
language in force.

Typer's copy of Click writes these as English f-strings ("No such option: --x", "Option '--limit' requires
an argument.", "Invalid value for '--limit': Input should be a valid integer…"), with nothing to hook
inside. They all pass through ``typer.rich_utils.rich_format_error`` on their way to the terminal, so that
function is wrapped once: the error's formatted English is matched against the few shapes the library
writes and rewritten through the catalogue. A message of a shape not listed is shown as the library wrote it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from integrations.i18n import N_, _

_MISSING_KIND = {"argument": N_("缺少参数 {name}。"), "option": N_("缺少选项 {name}。"),
                 "parameter": N_("缺少参数 {name}。")}

_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Input should be a valid integer"), N_("应为整数")),
    (re.compile(r"^Input should be a valid number"), N_("应为数字")),
    (re.compile(r"^Input should be a valid (datetime|date)"), N_("应为日期或时间，如 2026-01-05T09:00:00+08:00")),
    (re.compile(r"^Input should be a valid boolean"), N_("应为是或否（true/false）")),
    (re.compile(r"^Input should be (?P<choices>.+)$"), N_("应为 {choices}")),
    (re.compile(r"^(?P<value>'.*') is not one of (?P<choices>.+?)\.?$"), N_("{value} 不是可选值之一：{choices}")),
    (re.compile(r"^(?P<value>'.*') does not match the formats (?P<formats>.+?)\.?$"),
     N_("{value} 不符合时间格式 {formats}")),
    (re.compile(r"^\w+ (?P<path>'.*') does not exist\.$"), N_("{path} 不存在")),
    (re.compile(r"^\w+ (?P<path>'.*') is a directory\.$"), N_("{path} 是文件夹，不是文件")),
    (re.compile(r"^\w+ (?P<path>'.*') is a file\.$"), N_("{path} 是文件，不是文件夹")),
    (re.compile(r"^\w+ (?P<path>'.*') is not readable\.$"), N_("{path} 无法读取")),
]

_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^No such option: (?P<option>\S+) \(Possible options: (?P<options>.+)\)$"),
     N_("没有选项 {option}（可能是：{options}）")),
    (re.compile(r"^No such option: (?P<option>\S+)$"), N_("没有选项 {option}")),
    (re.compile(r"^(?P<message>.*?)\.?\. Did you mean (?P<options>.+)\?$"), N_("{message} 是否想用 {options}？")),
    (re.compile(r"^Option (?P<option>'.+?') requires an argument\.$"), N_("选项 {option} 需要一个值。")),
    (re.compile(r"^Option (?P<option>'.+?') requires (?P<n>\d+) arguments\.$"), N_("选项 {option} 需要 {n} 个值。")),
    (re.compile(r"^Option (?P<option>'.+?') does not take a value\.$"), N_("选项 {option} 不接受值。")),
    (re.compile(r"^Got unexpected extra argument(?:\(s\)|s)? \((?P<extra>.*)\)$"), N_("多余的参数（{extra}）。")),
]
_INVALID = re.compile(r"^Invalid value for (?P<name>.+?): (?P<reason>.*)$", re.S)
_INVALID_BARE = re.compile(r"^Invalid value: (?P<reason>.*)$", re.S)
_MISSING = re.compile(r"^Missing (?P<kind>argument|option|parameter) (?P<name>.+?)\.(?: (?P<rest>.*))?$", re.S)


def _reason(text: str) -> str:
    for pattern, msgid in _REASONS:
        if m := pattern.match(text):
            return _(msgid).format(**m.groupdict())
    return text


def usage_error_text(english: str) -> str:
    """``english`` (a usage error as the library formats it) in the language in force; unknown shapes as is."""
    if m := _INVALID.match(english):
        return _("{name} 的值无效：{reason}").format(name=m["name"], reason=_reason(m["reason"]))
    if m := _INVALID_BARE.match(english):
        return _("值无效：{reason}").format(reason=_reason(m["reason"]))
    if m := _MISSING.match(english):
        text = _(_MISSING_KIND[m["kind"]]).format(name=m["name"])
        return f"{text}{m['rest']}" if m["rest"] else text
    for pattern, msgid in _MESSAGES:
        if m := pattern.match(english):
            return _(msgid).format(**m.groupdict())
    return english


def wrap_usage_errors() -> None:
    """Once: every usage error Typer shows goes through :func:`usage_error_text` first."""
    rich_utils = importlib.import_module("typer.rich_utils")
    show: Callable[[Any], None] = rich_utils.rich_format_error
    if getattr(show, "_fenghuo", False):
        return

    def rich_format_error(error: Any) -> None:
        english = error.format_message()
        error.format_message = lambda: usage_error_text(english)
        show(error)

    rich_format_error._fenghuo = True  # type: ignore[attr-defined]
    setattr(rich_utils, "rich_format_error", rich_format_error)  # noqa: B010  (a module typed as ModuleType)
