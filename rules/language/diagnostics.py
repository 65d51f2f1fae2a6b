"""Errors that cite ``FILE:LINE``, and the translation of pydantic's errors into them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from domain.messages import N_, Message
from rules.language.positions import LanguageError, key_line, line_of

# Keys an author may write in each part of a file, for "did you mean" on an unknown key.
FILE_KEYS = ("ruleset", "description", "rules", "tests")
RULE_KEYS = (
    "id", "title", "record", "where", "level", "levels", "group_by", "summary",
    "window", "sequence", "join", "within", "absence", "baseline", "notify_every", "resolve_after",
    "auto_resolve",
)  # fmt: skip
_CONTEXT_KEYS = {
    None: FILE_KEYS,
    "rules": RULE_KEYS,
    "levels": ("level", "when"),
    "window": ("within", "by", "aggregate"),
    "baseline": ("samples", "every"),
    "sequence": ("record", "where"),
    "after": ("record", "where"),
    "missing": ("record", "where"),
    "absence": ("after", "missing"),
    "tests": ("name", "records", "expect"),
}


_EXPECTED = {
    "tuple_type": Message(N_("应为列表，例如 [street]")),
    "list_type": Message(N_("应为列表")),
    "string_type": Message(N_("应为文本")),
    "dict_type": Message(N_("应为映射")),
    "model_type": Message(N_("应为映射")),
    "int_type": Message(N_("应为整数")),
    "int_parsing": Message(N_("应为整数")),
    "int_from_float": Message(N_("应为整数")),
    "float_type": Message(N_("应为数值")),
    "float_parsing": Message(N_("应为数值")),
    "bool_type": Message(N_("应为 true 或 false")),
    "bool_parsing": Message(N_("应为 true 或 false")),
    "string_too_short": Message(N_("不能为空")),
    "too_short": Message(N_("不能为空")),
}


@dataclass(frozen=True, order=True)
class RuleError:
    """One problem in a rule or data file. ``str()`` is exactly ``FILE:LINE: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _walk(raw: Any, loc: tuple[int | str, ...]) -> tuple[Any, int]:
    """Follow ``loc`` into the parsed YAML as far as it goes: (deepest node reached, its line)."""
    node, line = raw, line_of(raw, 1)
    for step in loc:
        if step == "levels" and isinstance(node, dict) and "level" in node and "levels" not in node:
            return node, key_line(node, "level", line)  # `level: x` was rewritten into `levels`
        try:
            child = node[step]
        except (KeyError, IndexError, TypeError):
            break
        line = key_line(node, step, line)
        node = child
    return node, line


def _context(loc: tuple[int | str, ...]) -> str | None:
    """The name of the list or map that holds the last key of ``loc`` (``rules``, ``levels``…)."""
    names = [p for p in loc if isinstance(p, str)]
    return names[-1] if names else None


def _suggest(name: str, known: tuple[str, ...]) -> str:
    near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return Message(N_("；是否应为 '{name}'？"), name=near[0]) if near else ""


def from_validation_error(
    exc: ValidationError, raw: Any, file: str, prefix: tuple[int | str, ...] = ()
) -> list[RuleError]:
    """Readable errors, at the right lines, for a failed ``model_validate`` of the part of ``raw`` (the
    whole parsed file) at ``prefix`` (e.g. ``("rules", 2)`` when one rule was validated alone)."""
    out: list[RuleError] = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(p for p in err["loc"] if isinstance(p, (int, str)))
        # pydantic puts model names in loc for tagged unions; keep only keys and indexes we wrote
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, LanguageError):
            _, line = _walk(raw, loc)
            out.append(RuleError(file, ctx_error.line or line, ctx_error.message))
            continue
        kind = err["type"]
        if kind == "extra_forbidden":
            parent, _ = _walk(raw, loc[:-1])
            key = str(loc[-1])
            known = _CONTEXT_KEYS.get(_context(loc[:-1]), RULE_KEYS)
            msg = Message(N_("未知的键 '{key}'{hint}"), key=key, hint=_suggest(key, known))
            out.append(RuleError(file, key_line(parent, loc[-1], 1), msg))
        elif kind == "missing":
            _, line = _walk(raw, loc[:-1])
            out.append(RuleError(file, line, Message(N_("缺少键 '{key}'"), key=loc[-1])))
        elif kind == "enum" and loc and loc[-1] == "level":
            _, line = _walk(raw, loc)
            given = str(err.get("input"))
            levels = ("blue", "yellow", "orange", "red")
            hint = _suggest(given, levels) or Message(N_("；等级为 blue、yellow、orange、red"))
            out.append(RuleError(file, line, Message(N_("未知的等级 '{level}'{hint}"), level=given, hint=hint)))
        else:
            _, line = _walk(raw, loc)
            where = _where(raw, loc)
            what = _EXPECTED.get(kind, err["msg"])  # pydantic's own (English) words for a rarer kind of error
            out.append(RuleError(file, line, Message(N_("{where}：{what}"), where=where, what=what)))
    return out


def _where(raw: Any, loc: tuple[int | str, ...]) -> str:
    """Where in the file ``loc`` points, as an author names it: ``规则 'a' 的 window.by`` rather than
    ``rules.0.window.by`` (the line is given beside it)."""
    dotted = ".".join(str(p) for p in loc) or Message(N_("文件"))
    if len(loc) < 2 or not isinstance(loc[0], str) or loc[0] not in _NAMED or not isinstance(loc[1], int):
        return dotted
    key, whole, part = _NAMED[loc[0]]
    items = raw.get(loc[0]) if isinstance(raw, dict) else None
    item = items[loc[1]] if isinstance(items, list) and 0 <= loc[1] < len(items) else None
    name = item.get(key) if isinstance(item, dict) else None
    if not isinstance(name, str):
        return dotted
    rest = ".".join(str(p) for p in loc[2:])
    return Message(part, name=name, path=rest) if rest else Message(whole, name=name)


_NAMED = {
    "rules": ("id", N_("规则 '{name}'"), N_("规则 '{name}' 的 {path}")),
    "tests": ("name", N_("测试 '{name}'"), N_("测试 '{name}' 的 {path}")),
}
"""The lists whose items an author names: the key naming an item, how the item is named, how a part of it."""
