"""The portable regular-expression subset of ``matches`` and its translation to durable_rules.

Authors write Python syntax limited to: literals (any script), ``.``, classes ``[...]``, ``\\d \\w \\s``,
groups ``(...)``/``(?:...)``, alternation, ``* + ?`` and ``{m}``/``{m,n}`` with n ≤ 100. The pattern must
match the whole string; anything else is a :class:`RegexError`.

Some patterns of the subset durable_rules gets wrong: negated classes ``[^...]`` (mismatches), a
repeated group that can match the empty string (``(a?)+`` hangs its matcher) or that contains a repeat
itself (``(a+|b){1,3}``: too many states, sometimes memory corruption), ranges with non-ASCII ends
(crash) and whatever its automaton compiler rejects (:func:`rules.language.regex_engine.engine_refusals`).
They are accepted all the same: :func:`python_only` names the static reason, and the durable engine
evaluates such ``matches`` tests in Python (:mod:`rules.engine.compile`), as the reference engine does.

:func:`translate_regex` checks a pattern and returns durable_rules' ``$mt`` dialect (Lua-like ``%``
escapes; meaningless for a :func:`python_only` pattern); :func:`compile_regex` gives the pattern with
the same meaning for the reference engine and every Python-side test, compiled by RE2: matching takes
time linear in the text, whatever the pattern (Python's ``re`` backtracks: ``(a+)+`` against 26 ``a``
and a ``c`` took seconds, against 100,000 characters minutes). Its classes are ASCII, as with
``re.ASCII`` and as ``%d %w %s`` are; a pattern RE2 cannot compile (``(a{100}){100}`` is over its
repeat limit) is a :class:`RegexError` at load.

What durable_rules' matcher does (checked against durable_rules 2.0.28, see the tests): ``%d %a %s
%w`` classes, ``%`` escapes the specials ``. ( ) | [ ] { } + * ? %``; inside ``[...]`` a ``%`` class
only works as the first item and ``-`` only as the last; a range with non-ASCII ends crashes it, so
ranges must be ASCII; ``%w`` has no underscore, so ``\\w`` becomes ``[%w_]``. The tests ask
durable_rules itself whether translations match as Python does.
"""


from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol

import re2

from domain.messages import N_, Message
from rules.language.regex_parse import MAX_LENGTH, MAX_REPEAT, RegexError, Translator

__all__ = ["MAX_LENGTH", "MAX_REPEAT", "FullMatcher", "RegexError", "compile_regex", "python_only", "translate_regex"]

def translate_regex(pattern: str) -> str:
    """Check ``pattern`` against the portable subset and return durable_rules' ``$mt`` form.

    Raises :class:`RegexError` naming the first construct outside the subset."""
    return _analyse(_checked(pattern))[0]


def python_only(pattern: str) -> str | None:
    """Why durable_rules cannot be trusted with ``pattern`` of the subset (its translation would be
    wrong, hang or crash), or ``None``. Such patterns are evaluated in Python by both engines. The
    automaton limits are another reason, asked of durable_rules itself
    (:func:`rules.language.regex_engine.engine_refusals`). Raises :class:`RegexError` outside the subset."""
    reasons = _analyse(_checked(pattern))[1]
    return "；".join(reasons) if reasons else None  # the reasons are Chinese Messages (not shown to officials)


def _checked(pattern: str) -> str:
    if not isinstance(pattern, str) or not pattern:
        raise RegexError(Message(N_("正则表达式须为非空文本")))
    return pattern


@lru_cache(maxsize=4096)
def _analyse(pattern: str) -> tuple[str, tuple[str, ...]]:
    if len(pattern) > MAX_LENGTH:
        raise RegexError(Message(N_(
                "正则表达式长 {length} 个字符；上限为 {limit}"), length=len(pattern), limit=MAX_LENGTH))
    translator = Translator(pattern)
    out, _ = translator.alternation()
    if translator.peek() == ")":
        raise translator.fail(Message(N_("')' 不配对")))
    try:  # the subset is Python syntax too: make sure Python agrees it is well formed
        re.compile(pattern, re.ASCII)
    except re.error as exc:
        raise RegexError(Message(N_(
                "无效的正则表达式 '{pattern}'：{reason}"), pattern=pattern, reason=str(exc))) from None
    return out, tuple(translator.untrusted)


class FullMatcher(Protocol):
    """A compiled ``matches`` pattern: :meth:`fullmatch` gives a match object or ``None``."""

    def fullmatch(self, text: str) -> object | None:
        """The match of the whole of ``text``, or ``None``."""
        ...


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is a RegexError, not a line on stderr
_VT_SPACE = "\\t\\n\\x0b\\f\\r "
"""Python's ASCII ``\\s``; RE2's has no vertical tab."""


def _re2_syntax(pattern: str) -> str:
    """The subset's Python syntax as RE2 reads it with the same meaning: only ``\\s`` differs."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append((_VT_SPACE if in_class else f"[{_VT_SPACE}]") if nxt == "s" else ch + nxt)
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
            if pattern.startswith("^", i + 1):  # '[^]' cannot occur: the subset has no empty class
                out.append("[^")
                i += 2
                continue
        elif ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> FullMatcher:
    """The checked pattern compiled by RE2 (linear time, ASCII classes). Use with ``fullmatch``."""
    translate_regex(pattern)
    try:
        compiled: FullMatcher = re2.compile(_re2_syntax(pattern), _RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise RegexError(Message(N_("正则表达式 '{pattern}' 过于复杂，无法安全匹配：{detail}"), pattern=pattern,
                                 detail=str(detail))) from None
    return compiled
