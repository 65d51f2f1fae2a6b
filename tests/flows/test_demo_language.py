"""The demo's summary lines in either language (only their wording here: the whole demo is too slow for a
unit test)."""

from __future__ import annotations

import pytest

from flows.demo import _silence_line
from integrations.settings import get_settings


def test_the_silence_line_is_chinese_by_default_and_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _silence_line() == "静默：没有压下任何通知（静默的那一轮没有集体访）"
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    assert _silence_line() == "silence: nothing was held (no collective petition in the silenced round)"
