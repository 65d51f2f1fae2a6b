"""Recognising personal identifiers in free text as people type them, and masking them (pure functions).

Recognised, and masked keeping the first 3 and last 2 of their digits (separators stay, so
``138-1234-5678`` becomes ``138-****-**78``):

- mobile numbers, ``1[3-9]`` + 9 digits, optionally after ``86``/``0086``;
- landlines with an area code, ``0`` + 2–3 digits, then 7–8 digits (``028-8765 4321``, ``(028)87654321``);
- ID-card numbers, 18 characters (the last may be ``X``) and the old 15-digit ones;
- card-like numbers of 16–19 digits, and passport-like tokens (letters with 6+ digits, 8+ characters).

They may be written with spaces, dashes, dots or a closing bracket between groups of digits, in
full-width digits and letters (``１３９１２３４５６７８``, ``Ｘ``) or a mixture, inside Chinese text.

Region codes are never masked. They are recognised by form: the system writes them as one run of 12
ASCII digits (a community) or 15 (a grid, the community's code and 3 more), never starting with ``0``.
Such a run is a place, even though a 15-digit run has the shape of an old ID-card number (whose
birth-date digits cannot always tell them apart: grid ``510104001001001`` reads as 2000-10-01). A
15-digit number is taken for an old ID card when its digits 7–9 are 600 or more (a township's number
never is; a card's birth year from 1960 is), when a person evidently typed it — in groups, or in
full-width digits — or when ``身份``/``证件``/``证号`` stands just before it. Digits run together
with a region code (``5`` + an 11-digit mobile) read as a 12-digit code: a known limit.

Numbers that people write in groups are joined only in the layouts of identifiers (a mobile's first
group has 3, 4 or 7 digits; a landline's starts with its area code; an ID card's birth date must be a
date; a card number is grouped by fours), so dates, times, money and counts (``2026-01-11``,
``伤 20 人``, ``1,000,000元``, ``13 800 000 000``) stay readable. In URLs only unbroken runs are
looked at, as before: the signed action links (:mod:`integrations.links`) rely on that.

The fast path: a first regex scan, which the engine runs in C, looks for a place where a run could
hold an identifier (11 digits with nothing but separators between them, or 8 letters and digits run
together); most texts have none and are returned as they are. Otherwise a second scan stops only at
such runs; dates, times, money and counts are passed over inside the regex engine.
"""

from __future__ import annotations

import re

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
"""Full-width ASCII forms (``０``–``９``, ``Ａ``–``ｚ``, ``－``, ``．``…) and the ideographic space → ASCII."""
_D = "0-9\uff10-\uff19"
_L = "A-Za-z\uff21-\uff3a\uff41-\uff5a"
_S = " \t\u00a0\u3000\\-\u2010-\u2015\u2212\uff0d.\uff0e)\uff09"
_TOKEN = re.compile(
    # Starts a run, and the run can hold an identifier: 11 digits with only separators between them (the
    # shortest phone number), or 8 letters and digits run together (the shortest passport-like token).
    rf"(?<![{_D}{_L}])(?=(?:[{_S}]*+[{_D}]){{11}}|[{_D}{_L}]{{8}})"
    rf"[{_L}]*+[{_D}][{_D}{_L}]*+"  # a first group: optional letters, then a digit and more
    rf"(?:[{_S}]++[{_D}]++)*+"  # more groups of digits after separators
    rf"(?:[{_S}]*+[Xx\uff38\uff58](?![{_D}{_L}]))?"  # a final check character written apart
)
_HINT = re.compile(rf"[{_D}{_L}](?:(?<=[{_D}])(?:[{_S}]*+[{_D}]){{10}}|[{_D}{_L}]{{7}})")
"""Where :data:`_TOKEN` could match, found faster (it starts with a character set, which the regex
engine skips to in C): a text without such a place, most texts, is returned as it is."""
_GROUP = re.compile(r"[0-9A-Za-z]+")
_URL = re.compile(r"https?://[^\s<>\"'，。；、）】]+")
_ALNUM_RUN = re.compile(r"[0-9A-Za-z]{8,}")
_HEX20 = re.compile(r"[0-9a-f]{20}")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0[1-9]\d{9,10}")  # 3-digit area codes have 8-digit numbers: 11 or 12 digits
_ID18 = re.compile(r"[1-9]\d{16}[\dX]")
_ID15 = re.compile(r"[1-8]\d{14}")  # province codes run from 11 to 82
_CARD = re.compile(r"\d{16,19}")
_BIRTH18 = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
_BIRTH15 = re.compile(r"\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
_ID_CONTEXT = re.compile("身份|证件|证号")
_COUNTRY = ("86", "0086")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_MAX_DIGITS = 21  # the longest identifier with a country code, 0086 + 17


def _plain_run(digits: str, text: str, at: int) -> bool:
    """An unbroken run of ASCII digits (the last may be ``X``): an identifier unless it has a region code's form."""
    n = len(digits)
    if digits[-1] == "X":  # an 18-character ID card, maybe run on from other digits
        return n >= 18
    if n == 12:  # a community's code; a landline with a 4-digit area code starts with 0, no code does
        return bool(_LANDLINE.fullmatch(digits))
    if n == 15:  # a grid's code, unless it cannot be one or an ID card is named just before it
        return _old_id_card(digits) or bool(_ID_CONTEXT.search(text, max(0, at - 12), at))
    return n >= 16 or bool(_MOBILE.search(digits) or _LANDLINE.fullmatch(digits))


def _old_id_card(digits: str) -> bool:
    """15 digits that cannot be a grid's code but read as an old ID card.

    In a grid's code digits 7–9 are a township's number, which the national scheme keeps below 600; in
    an old ID card they are the birth year's two digits and the month's first. So a card of someone born
    in 1960–1999 (most holders of an unreplaced card) is told apart by form; an older one only by
    ``身份``/``证件``/``证号`` before it or by being typed in groups."""
    return digits[6:9] >= "600" and bool(_ID15.fullmatch(digits) and _BIRTH15.fullmatch(digits, 6, 12))


def _typed(digits: str, sizes: list[int]) -> bool:
    """A number a person typed (in groups of ``sizes`` digits, or in full-width digits): an identifier?"""
    if len(sizes) > 1 and digits[: sizes[0]] in _COUNTRY:
        digits, sizes = digits[sizes[0] :], sizes[1:]
        if _MOBILE.fullmatch(digits) and (len(sizes) == 1 or sizes[0] in (3, 4, 7)):
            return True
        return bool(re.fullmatch(r"[1-9]\d{9,10}", digits)) and (len(sizes) == 1 or sizes[0] in (2, 3))
    grouped = len(sizes) > 1
    n = len(digits)
    if n == 11 and _MOBILE.fullmatch(digits):
        return not grouped or sizes[0] in (3, 4, 7)
    if 11 <= n <= 12 and _LANDLINE.fullmatch(digits):
        return not grouped or sizes[0] in (3, 4)
    if grouped and min(sizes[:-1]) < 2:
        return False
    # An ID card typed in groups starts with its 6-digit area code, and its birth date is a date.
    area = not grouped or sizes[0] == 6 or sizes[:2] == [3, 3]
    if n == 18 and _ID18.fullmatch(digits):
        return not grouped or (area and bool(_BIRTH18.fullmatch(digits, 6, 14)))
    if n == 15 and _ID15.fullmatch(digits):
        return area and bool(_BIRTH15.fullmatch(digits, 6, 12))
    if _CARD.fullmatch(digits):
        return not grouped or all(s == 4 for s in sizes[:-1])
    return False


def _mixed(run: str) -> bool:
    """Letters and digits run together: a passport-like token (8+ characters with 6+ digits)."""
    return len(run) >= 8 and sum(c.isdigit() for c in run) >= 6


def _hide(chars: list[str], positions: list[int]) -> None:
    for p in positions[3 : len(positions) - 2]:
        chars[p] = "*"


def _mask_token(text: str, m: re.Match[str]) -> str:
    token = m.group(0)
    if token.isdigit() and token.isascii():  # the common case: one unbroken ASCII number
        if _plain_run(token, text, m.start()):
            return token[:3] + "*" * (len(token) - 5) + token[-2:]
        return token
    norm = token if token.isascii() else token.translate(_FULLWIDTH)
    fullwidth = norm is not token
    chars = list(token)
    # Numeric parts (start, end) of consecutive groups, broken by any group that is not a number.
    runs: list[list[tuple[int, int]]] = [[]]
    prefixed: list[tuple[int, int]] = []  # letters then a number ("ID510104"): a token if nothing else
    for g in _GROUP.finditer(norm):
        s, e = g.span()
        word = g.group(0)
        if s == 0 and text[m.start() - 2 : m.start()] == "p_" and _HEX20.fullmatch(word):
            runs.append([])  # a pseudonym's keyed hash identifies no one by itself
            continue
        if word in ("X", "x") and runs[-1]:  # a check character written apart from its number
            runs[-1].append((s, e))
            continue
        body = word.lstrip(_LETTERS)
        k = len(word) - len(body)
        if body and (body.isdigit() or (len(body) > 1 and body[:-1].isdigit() and body[-1] in "Xx")):
            if k:
                runs.append([])
                prefixed.append((s, e))
            elif len(word) in (12, 15) and word[0] != "0" and word.isdigit() and token[s:e].isascii():
                runs += [[(s, e)], []]  # a region code is a place of its own: never joined to a neighbour
                continue
            runs[-1].append((s + k, e))
            if not body[-1].isdigit():
                runs.append([])  # a check character ends a number
        else:
            if _mixed(word):
                _hide(chars, list(range(s, e)))
            runs.append([])
    for parts in runs:
        _mask_parts(norm, text, m.start(), parts, fullwidth, chars)
    for s, e in prefixed:
        if "*" not in chars[s:e] and _mixed(norm[s:e]):
            _hide(chars, list(range(s, e)))
    return "".join(chars)


def _mask_parts(
    norm: str, text: str, at: int, parts: list[tuple[int, int]], fullwidth: bool, chars: list[str]
) -> None:
    """Masks each longest run of consecutive groups in ``parts`` that reads as an identifier."""
    i = 0
    while i < len(parts):
        best = -1
        digits = ""
        for j in range(i, len(parts)):
            digits += norm[parts[j][0] : parts[j][1]].upper()
            if j > i and len(digits) > _MAX_DIGITS:
                break
            sizes = [e - s for s, e in parts[i : j + 1]]
            if j == i and not fullwidth and digits[:-1].isdigit():
                found = _plain_run(digits, text, at + parts[i][0])
            else:
                found = _typed(digits, sizes)
            if found:
                best = j
        if best < 0:
            i += 1
            continue
        _hide(chars, [p for s, e in parts[i : best + 1] for p in range(s, e)])
        i = best + 1


def _mask_url(url: str) -> str:
    def repl(m: re.Match[str]) -> str:
        run = m.group(0)
        if url[m.start() - 2 : m.start()] == "p_" and _HEX20.fullmatch(run):
            return run
        hit = _plain_run(run, url, m.start()) if run.isdigit() else _mixed(run)
        return run[:3] + "*" * (len(run) - 5) + run[-2:] if hit else run

    return _ALNUM_RUN.sub(repl, url)


def mask_identifiers(text: str) -> str:
    """``text`` with every personal identifier masked, keeping the first 3 and last 2 of its characters.

    >>> mask_identifiers("来电 138-1234-5678，网格 510104001001001")
    '来电 138-****-**78，网格 510104001001001'
    """
    if _HINT.search(text) is None:
        return text
    if "://" not in text:
        return _TOKEN.sub(lambda m: _mask_token(text, m), text)
    out: list[str] = []
    last = 0
    for u in _URL.finditer(text):
        piece = text[last : u.start()]
        out += [_TOKEN.sub(lambda m, p=piece: _mask_token(p, m), piece), _mask_url(u.group(0))]  # type: ignore[misc]
        last = u.end()
    rest = text[last:]
    out.append(_TOKEN.sub(lambda m: _mask_token(rest, m), rest))
    return "".join(out)
