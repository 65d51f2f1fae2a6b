"""Checks that a text is in one language: no Chinese left in English output, Chinese where Chinese is due.

Chinese here means CJK ideographs and the full-width punctuation that goes with them (（），：、。— the
marks an English sentence never uses), so a stray ``（北京时间）`` is caught as surely as a heading.
Data shown as recorded (a rule's title, a region's name) may be Chinese in any language: pass it as
``data`` and it is left out before the check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
"""A run of CJK ideographs or CJK / full-width punctuation."""


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds any Chinese character or full-width mark."""
    return CJK.search(text) is not None


def cjk_lines(text: str, *, data: Iterable[str] = ()) -> list[str]:
    """The lines of ``text`` that still hold Chinese once every ``data`` string is taken out."""
    for value in sorted(data, key=len, reverse=True):  # longest first: a name inside a longer one
        if value:
            text = text.replace(value, "")
    return [line.strip() for line in text.splitlines() if has_cjk(line)]


def assert_no_cjk(text: str, *, data: Iterable[str] = ()) -> None:
    """Fail naming every line of ``text`` with Chinese in it (apart from ``data``)."""
    left = cjk_lines(text, data=data)
    assert not left, "Chinese left in English output:\n" + "\n".join(left[:40])
