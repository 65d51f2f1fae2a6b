"""One language for officials, checked: the Chinese characters left in a text (none may be left in English)."""

from __future__ import annotations

import re

import pytest

from integrations.settings import get_settings

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
"""Chinese characters and CJK punctuation (，。：（）【】、), which an English text must not contain."""


def cjk(text: str) -> list[str]:
    """The Chinese characters and punctuation in ``text`` (empty: nothing Chinese leaked)."""
    return CJK.findall(text)


def speak(monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    """Switch the deployment's language (``FENGHUO_LANG``) for the rest of the test."""
    monkeypatch.setenv("FENGHUO_LANG", lang)
    get_settings.cache_clear()
