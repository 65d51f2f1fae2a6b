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

MAX_LENGTH = 200
"""Longest pattern accepted (characters)."""
MAX_REPEAT = 100
"""Largest ``n`` in ``{m,n}``."""

_SPECIALS = frozenset(".()|[]{}+*?%")
_ESCAPABLE = frozenset(".()|[]{}+*?^$\\/-%&~#@!,;:'\"<>=_ ")
_QUANT = re.compile(r"\{(\d+)(?:,(\d+))?\}")


class RegexError(ValueError):
    """A ``matches`` pattern outside the portable subset; the message says what and where."""


def _lit(ch: str) -> str:
    """A literal character outside a class, in durable_rules' dialect."""
    return "%" + ch if ch in _SPECIALS else ch


class _Translator:
    """A small recursive-descent pass over the pattern that checks and translates in one go."""

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        self.depth = 0
        self.repeats = 0  # quantifiers seen so far, to spot a repeat inside a repeated group
        self.untrusted: list[str] = []  # why durable_rules cannot be trusted with the pattern

    def fail(self, what: str) -> RegexError:
        """An error naming the position reached."""
        return RegexError(f"{what} at position {self.i + 1} of regex '{self.p}'")

    def peek(self) -> str:
        """The next character, or ``""`` at the end."""
        return self.p[self.i] if self.i < len(self.p) else ""

    def alternation(self) -> tuple[str, bool]:
        """Translated text and whether it can match the empty string."""
        text, nullable = self.sequence()
        parts = [text]
        while self.peek() == "|":
            self.i += 1
            text, empty = self.sequence()
            parts.append(text)
            nullable = nullable or empty
        if len(parts) == 1:
            return parts[0], nullable
        # durable_rules lets a repeat that ends one alternative run on into the next ('a+|b+' matches
        # 'ab' there); each alternative in its own group keeps them apart.
        return "|".join(f"({part})" for part in parts), nullable

    def sequence(self) -> tuple[str, bool]:
        """Atoms with their quantifiers up to ``|``, ``)`` or the end; and whether it can be empty."""
        out = []
        nullable = True
        while self.peek() not in ("", "|", ")"):
            start, repeats_before = self.i, self.repeats
            atom, empty = self.atom()
            nested = self.repeats > repeats_before
            q, low, high = self.quantifier()
            if q:
                self.repeats += 1
            if empty and (high is None or high > 1):
                # durable_rules' matcher can loop for ever on such a pattern (e.g. (a?)+).
                self.untrusted.append(f"a repeated group that can match nothing at position {start + 1}")
            if nested and (high is None or high > 1):
                # Nested repeats blow up durable_rules' automaton (too many states) and some even
                # corrupt its memory: (a+|b){1,3} is left to Python, (ab|cd)+ is fine.
                self.untrusted.append(f"a repeated group holding a repeat at position {start + 1}")
            out.append(atom + q)
            nullable = nullable and (empty or low == 0)
        return "".join(out), nullable

    def quantifier(self) -> tuple[str, int, int | None]:
        """The quantifier text (maybe empty) with its bounds; ``None`` is unbounded."""
        ch = self.peek()
        bounds: dict[str, tuple[int, int | None]] = {"*": (0, None), "+": (1, None), "?": (0, 1)}
        if ch in bounds:
            self.i += 1
            q, (low, high) = ch, bounds[ch]
        elif ch == "{":
            m = _QUANT.match(self.p, self.i)
            if m is None:
                raise self.fail("a repeat is {m} or {m,n}; unbounded {m,} is not supported")
            low, high = int(m.group(1)), int(m.group(2) if m.group(2) is not None else m.group(1))
            if high > MAX_REPEAT or low > high:
                raise self.fail(f"a repeat {{m,n}} needs m ≤ n ≤ {MAX_REPEAT}")
            self.i = m.end()
            q = m.group(0)
        else:
            return "", 1, 1
        if self.peek() in ("*", "+", "?", "{"):
            raise self.fail("lazy, possessive or stacked quantifiers are not supported")
        return q, low, high

    def atom(self) -> tuple[str, bool]:
        """One atom, translated, and whether it can match the empty string (only a group can)."""
        ch = self.peek()
        if ch in ("*", "+", "?", "{"):
            raise self.fail(f"'{ch}' has nothing to repeat")
        if ch in ("^", "$"):
            raise self.fail(f"anchor '{ch}' is not supported (the pattern always matches the whole string)")
        if ch == "}":
            raise self.fail("unbalanced '}'; write \\} for the character")
        if ch == "]":
            raise self.fail("unbalanced ']'; write \\] for the character")
        self.i += 1
        if ch == "(":
            return self.group()
        if ch == ".":
            return ".", False
        if ch == "[":
            return self.char_class(), False
        if ch == "\\":
            return self.escape(in_class=False), False
        if ord(ch) < 32 or ord(ch) == 127:
            raise self.fail("control characters are not supported")
        return _lit(ch), False

    def group(self) -> tuple[str, bool]:
        """``(...)`` or ``(?:...)`` after its ``(``; durable_rules groups never capture anyway."""
        if self.p.startswith("?:", self.i):
            self.i += 2
        elif self.peek() == "?":
            raise self.fail("only plain (...) and (?:...) groups are supported")
        self.depth += 1
        inner, nullable = self.alternation()
        if self.peek() != ")":
            raise self.fail("missing ')'")
        self.i += 1
        self.depth -= 1
        return f"({inner})", nullable

    def escape(self, in_class: bool) -> str:
        """What follows a backslash; inside a class a shorthand comes back tagged with ``\\x00``."""
        ch = self.peek()
        if not ch:
            raise self.fail("pattern ends with a lone backslash")
        self.i += 1
        if ch in "dws":
            if in_class:
                return {"d": "\x00d", "w": "\x00w", "s": "\x00s"}[ch]
            return {"d": "%d", "w": "[%w_]", "s": "%s"}[ch]
        if ch in _ESCAPABLE:
            return ch if in_class else _lit(ch)
        raise self.fail(f"escape \\{ch} is not supported (only \\d \\w \\s and escaped punctuation)")

    def char_class(self) -> str:
        """``[...]`` after its ``[``."""
        start = self.i
        negated = self.peek() == "^"
        if negated:
            # durable_rules mismatches a negated class whenever another path of the pattern can take
            # the same character ('.*[^a]' does not match 'ab' there).
            self.untrusted.append(f"a negated class at position {start}")
            self.i += 1
        if self.peek() == "]":
            raise self.fail("empty class or unescaped ']'; write \\] for the character")
        shorthand: list[str] = []
        ranges: list[str] = []
        literals: list[str] = []
        while self.peek() != "]":
            ch = self.peek()
            if not ch:
                raise self.fail("missing ']'")
            self.i += 1
            if ch == "\\":
                item = self.escape(in_class=True)
                if item.startswith("\x00"):
                    shorthand.append(item[1])
                    continue
                ch = item
            elif ch == "[":
                raise self.fail("nested '[' in a class; write \\[ for the character")
            elif ord(ch) < 32 or ord(ch) == 127:
                raise self.fail("control characters are not supported")
            if self.peek() == "-" and self.p[self.i + 1 : self.i + 2] not in ("]", ""):
                self.i += 1
                end = self.peek()
                if end == "\\":
                    raise self.fail("a range ends in a plain character")
                self.i += 1
                if ord(end) < ord(ch):
                    raise self.fail(f"range {ch}-{end} is out of order")
                if not (ch.isascii() and end.isascii()):  # durable_rules crashes on it
                    self.untrusted.append(f"a non-ASCII range at position {start}")
                ranges.append(f"{ch}-{end}")
            else:
                literals.append(ch)
        self.i += 1
        if negated:  # never given to durable_rules (see python_only)
            return "[^" + "".join(shorthand) + "".join(ranges) + "".join(literals) + "]"
        try:
            return self._emit_class(shorthand, ranges, literals)
        except RegexError:
            self.untrusted.append(f"a class of only '^' and '-' at position {start}")
            return "[-^]"

    @staticmethod
    def _emit_class(shorthand: list[str], ranges: list[str], literals: list[str]) -> str:
        # durable_rules honours one %-class only, as the first item: keep \s as %s (it has no range
        # form), and spell \d and \w as ranges.
        head = "%s" if "s" in shorthand else ""
        if "d" in shorthand:
            ranges.append("0-9")
        if "w" in shorthand:
            ranges += ["0-9", "A-Z", "a-z"]
            literals.append("_")
        lits = list(dict.fromkeys(literals))
        if not head and not ranges and len(lits) == 1:
            return _lit(lits[0])
        body = "".join(dict.fromkeys(ranges))
        body += "".join("%" + c if c in "[]%." else c for c in lits if c not in "^-")
        body += "^" if "^" in lits else ""
        body += "-" if "-" in lits else ""
        if body.startswith("^"):
            raise RegexError("durable_rules has no form for a class holding only '^' and '-'")
        return "[" + head + body + "]"


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
    return "; ".join(reasons) if reasons else None


def _checked(pattern: str) -> str:
    if not isinstance(pattern, str) or not pattern:
        raise RegexError("a regex must be a non-empty string")
    return pattern


@lru_cache(maxsize=4096)
def _analyse(pattern: str) -> tuple[str, tuple[str, ...]]:
    if len(pattern) > MAX_LENGTH:
        raise RegexError(f"regex is {len(pattern)} characters long; the limit is {MAX_LENGTH}")
    translator = _Translator(pattern)
    out, _ = translator.alternation()
    if translator.peek() == ")":
        raise translator.fail("unbalanced ')'")
    try:  # the subset is Python syntax too: make sure Python agrees it is well formed
        re.compile(pattern, re.ASCII)
    except re.error as exc:
        raise RegexError(f"invalid regex '{pattern}': {exc}") from None
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
        raise RegexError(f"regex '{pattern}' is too complex to match safely: {detail}") from None
    return compiled
