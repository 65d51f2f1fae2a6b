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


def test_the_real_data_part_names_rules_and_reasons_not_codes() -> None:
    from rich.console import Console

    from flows.demo_nyc import print_nyc311

    out = Console(record=True, width=200)
    print_nyc311(out)
    text = out.export_text()
    assert "隔离 81 条（缺少地区 81）" in text and "{'" not in text
    assert "社区热线投诉异常增多" in text and "hotline-community" not in text and "street-cluster" not in text
