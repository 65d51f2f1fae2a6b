"""The portable regular-expression subset of ``matches`` and its translation to durable_rules.

Authors write Python syntax limited to: literals (any script), ``.``, classes ``[...]``, ``\\d \\w \\s``,
groups ``(...)``/``(?:...)``, alternation, ``* + ?`` and ``{m}``/``{m,n}`` with n ≤ 100. The pattern must
match the whole string. :func:`translate_regex` checks a pattern and returns durable_rules' ``$mt``
dialect (Lua-like ``%`` escapes); :func:`compile_regex` gives the Python pattern with the same meaning
for the reference engine (``re.ASCII``: ``\\d \\w \\s`` are ASCII there too, as ``%d %w %s`` are).

What durable_rules' matcher does (checked against durable_rules 2.0.28, see the tests): ``%d %a %s
%w`` classes, ``%`` escapes the specials ``. ( ) | [ ] { } + * ? %``; inside ``[...]`` a ``%`` class
only works as the first item and ``-`` only as the last; a range with non-ASCII ends crashes it, so
ranges must be ASCII; ``%w`` has no underscore, so ``\\w`` becomes ``[%w_]``.
"""

from __future__ import annotations

import re

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

    def fail(self, what: str) -> RegexError:
        return RegexError(f"{what} at position {self.i + 1} of regex {self.p!r}")

    def peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    def alternation(self) -> str:
        parts = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            parts.append(self.sequence())
        return "|".join(parts)

    def sequence(self) -> str:
        out = []
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            out.append(atom + self.quantifier())
        return "".join(out)

    def quantifier(self) -> str:
        ch = self.peek()
        if ch in ("*", "+", "?"):
            self.i += 1
            q = ch
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
            return ""
        if self.peek() in ("*", "+", "?", "{"):
            raise self.fail("lazy, possessive or stacked quantifiers are not supported")
        return q

    def atom(self) -> str:
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
        if ch == ".":
            return "."
        if ch == "(":
            return self.group()
        if ch == "[":
            return self.char_class()
        if ch == "\\":
            return self.escape(in_class=False)
        if ord(ch) < 32 or ord(ch) == 127:
            raise self.fail("control characters are not supported")
        return _lit(ch)

    def group(self) -> str:
        if self.p.startswith("?:", self.i):
            self.i += 2
        elif self.peek() == "?":
            raise self.fail("only plain (...) and (?:...) groups are supported")
        self.depth += 1
        inner = self.alternation()
        if self.peek() != ")":
            raise self.fail("missing ')'")
        self.i += 1
        self.depth -= 1
        return f"({inner})"

    def escape(self, in_class: bool) -> str:
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
        negate = self.peek() == "^"
        if negate:
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
                if not (ch.isascii() and end.isascii()) or ord(end) < ord(ch):
                    raise self.fail(f"range {ch}-{end} must be ASCII and in order")
                ranges.append(f"{ch}-{end}")
            else:
                literals.append(ch)
        self.i += 1
        return self._emit_class(negate, shorthand, ranges, literals)

    @staticmethod
    def _emit_class(negate: bool, shorthand: list[str], ranges: list[str], literals: list[str]) -> str:
        # durable_rules honours one %-class only, as the first item: keep \s as %s (it has no range
        # form), and spell \d and \w as ranges.
        head = "%s" if "s" in shorthand else ""
        if "d" in shorthand:
            ranges.append("0-9")
        if "w" in shorthand:
            ranges += ["0-9", "A-Z", "a-z"]
            literals.append("_")
        lits = list(dict.fromkeys(literals))
        if not negate and not head and not ranges and len(lits) == 1:
            return _lit(lits[0])
        body = "".join(dict.fromkeys(ranges))
        body += "".join("%" + c if c in "[]%." else c for c in lits if c not in "^-")
        body += "^" if "^" in lits else ""
        body += "-" if "-" in lits else ""
        if body.startswith("^"):
            raise RegexError("a class holding only '^' and '-' is not supported; write (\\^|-)")
        return "[" + ("^" if negate else "") + head + body + "]"


def translate_regex(pattern: str) -> str:
    """Check ``pattern`` against the portable subset and return durable_rules' ``$mt`` form.

    Raises :class:`RegexError` naming the first construct outside the subset."""
    if not isinstance(pattern, str) or not pattern:
        raise RegexError("a regex must be a non-empty string")
    if len(pattern) > MAX_LENGTH:
        raise RegexError(f"regex is {len(pattern)} characters long; the limit is {MAX_LENGTH}")
    translator = _Translator(pattern)
    out = translator.alternation()
    if translator.peek() == ")":
        raise translator.fail("unbalanced ')'")
    try:  # the subset is Python syntax too: make sure Python agrees it is well formed
        re.compile(pattern, re.ASCII)
    except re.error as exc:
        raise RegexError(f"invalid regex {pattern!r}: {exc}") from None
    return out


def compile_regex(pattern: str) -> re.Pattern[str]:
    """The Python pattern for the reference engine: checked, ASCII classes. Use with ``fullmatch``."""
    translate_regex(pattern)
    return re.compile(pattern, re.ASCII)
