"""The parser of the portable ``matches`` subset (:mod:`rules.language.regex`): one recursive-descent pass
that checks a pattern and writes durable_rules' ``$mt`` dialect, noting why durable_rules cannot be
trusted with it where that is so. The subset, the dialect and what durable_rules gets wrong are
described in :mod:`rules.language.regex`.
"""

from __future__ import annotations

import re

from domain.messages import N_, Message

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


class Translator:
    """A small recursive-descent pass over the pattern that checks and translates in one go."""

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        self.depth = 0
        self.repeats = 0  # quantifiers seen so far, to spot a repeat inside a repeated group
        self.untrusted: list[str] = []  # why durable_rules cannot be trusted with the pattern

    def fail(self, what: str) -> RegexError:
        """An error naming the position reached."""
        return RegexError(Message(N_("{what}（正则 '{pattern}' 的第 {position} 个字符处）"), what=what, pattern=self.p,
                                  position=self.i + 1))

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
                self.untrusted.append(Message(N_("可匹配空串的分组被重复（第 {position} 个字符处）"),
                                              position=start + 1))
            if nested and (high is None or high > 1):
                # Nested repeats blow up durable_rules' automaton (too many states) and some even
                # corrupt its memory: (a+|b){1,3} is left to Python, (ab|cd)+ is fine.
                self.untrusted.append(Message(N_("含重复的分组被重复（第 {position} 个字符处）"), position=start + 1))
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
                raise self.fail(Message(N_("重复次数写作 {m} 或 {m,n}；不支持无上限的 {m,}")))
            low, high = int(m.group(1)), int(m.group(2) if m.group(2) is not None else m.group(1))
            if high > MAX_REPEAT or low > high:
                raise self.fail(Message(N_("重复次数 {{m,n}} 须满足 m ≤ n ≤ {limit}"), limit=MAX_REPEAT))
            self.i = m.end()
            q = m.group(0)
        else:
            return "", 1, 1
        if self.peek() in ("*", "+", "?", "{"):
            raise self.fail(Message(N_("不支持惰性、占有或叠加的量词")))
        return q, low, high

    def atom(self) -> tuple[str, bool]:
        """One atom, translated, and whether it can match the empty string (only a group can)."""
        ch = self.peek()
        if ch in ("*", "+", "?", "{"):
            raise self.fail(Message(N_("'{char}' 前面没有可重复的内容"), char=ch))
        if ch in ("^", "$"):
            raise self.fail(Message(N_("不支持锚点 '{char}'（模式总是匹配整个字符串）"), char=ch))
        if ch == "}":
            raise self.fail(Message(N_("'}' 不配对；字符本身请写 \\}")))
        if ch == "]":
            raise self.fail(Message(N_("']' 不配对；字符本身请写 \\]")))
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
            raise self.fail(Message(N_("不支持控制字符")))
        return _lit(ch), False

    def group(self) -> tuple[str, bool]:
        """``(...)`` or ``(?:...)`` after its ``(``; durable_rules groups never capture anyway."""
        if self.p.startswith("?:", self.i):
            self.i += 2
        elif self.peek() == "?":
            raise self.fail(Message(N_("只支持普通的 (...) 和 (?:...) 分组")))
        self.depth += 1
        inner, nullable = self.alternation()
        if self.peek() != ")":
            raise self.fail(Message(N_("缺少 ')'")))
        self.i += 1
        self.depth -= 1
        return f"({inner})", nullable

    def escape(self, in_class: bool) -> str:
        """What follows a backslash; inside a class a shorthand comes back tagged with ``\\x00``."""
        ch = self.peek()
        if not ch:
            raise self.fail(Message(N_("模式以单独的反斜杠结尾")))
        self.i += 1
        if ch in "dws":
            if in_class:
                return {"d": "\x00d", "w": "\x00w", "s": "\x00s"}[ch]
            return {"d": "%d", "w": "[%w_]", "s": "%s"}[ch]
        if ch in _ESCAPABLE:
            return ch if in_class else _lit(ch)
        raise self.fail(Message(N_("不支持转义 \\{char}（只支持 \\d \\w \\s 和转义的标点）"), char=ch))

    def char_class(self) -> str:
        """``[...]`` after its ``[``."""
        start = self.i
        negated = self.peek() == "^"
        if negated:
            # durable_rules mismatches a negated class whenever another path of the pattern can take
            # the same character ('.*[^a]' does not match 'ab' there).
            self.untrusted.append(Message(N_("取反的字符类（第 {position} 个字符处）"), position=start))
            self.i += 1
        if self.peek() == "]":
            raise self.fail(Message(N_("空的字符类或未转义的 ']'；字符本身请写 \\]")))
        shorthand: list[str] = []
        ranges: list[str] = []
        literals: list[str] = []
        while self.peek() != "]":
            ch = self.peek()
            if not ch:
                raise self.fail(Message(N_("缺少 ']'")))
            self.i += 1
            if ch == "\\":
                item = self.escape(in_class=True)
                if item.startswith("\x00"):
                    shorthand.append(item[1])
                    continue
                ch = item
            elif ch == "[":
                raise self.fail(Message(N_("字符类中嵌套了 '['；字符本身请写 \\[")))
            elif ord(ch) < 32 or ord(ch) == 127:
                raise self.fail(Message(N_("不支持控制字符")))
            if self.peek() == "-" and self.p[self.i + 1 : self.i + 2] not in ("]", ""):
                self.i += 1
                end = self.peek()
                if end == "\\":
                    raise self.fail(Message(N_("范围须以普通字符结尾")))
                self.i += 1
                if ord(end) < ord(ch):
                    raise self.fail(Message(N_("范围 {start}-{end} 顺序颠倒"), start=ch, end=end))
                if not (ch.isascii() and end.isascii()):  # durable_rules crashes on it
                    self.untrusted.append(Message(N_("非 ASCII 的范围（第 {position} 个字符处）"), position=start))
                ranges.append(f"{ch}-{end}")
            else:
                literals.append(ch)
        self.i += 1
        if negated:  # never given to durable_rules (see python_only)
            return "[^" + "".join(shorthand) + "".join(ranges) + "".join(literals) + "]"
        try:
            return self._emit_class(shorthand, ranges, literals)
        except RegexError:
            self.untrusted.append(Message(N_("只含 '^' 和 '-' 的字符类（第 {position} 个字符处）"), position=start))
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
            raise RegexError(Message(N_("durable_rules 无法表达只含 '^' 和 '-' 的字符类")))
        return "[" + head + body + "]"
