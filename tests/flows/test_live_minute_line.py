"""The resident evaluator's line a minute (issue 17, "operators see it"): records, warnings, how far the
slowest group has evaluated and its lag, in Beijing time with the zone marked, in the language in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from flows.live import minute_line
from integrations.store.release import Position

NOW = datetime(2026, 12, 7, 2, 0, 30, tzinfo=UTC)


class _Live:
    def __init__(self, upto: datetime | None) -> None:
        self.position = Position(42, upto)

    def pending(self, now: datetime) -> tuple[int, int]:
        assert now == NOW
        return 3, 7


def test_the_line_names_the_lag_of_the_slowest_group_in_beijing_time() -> None:
    line = minute_line(cast(Any, _Live(NOW - timedelta(seconds=95))), 1200, 4, NOW)
    assert line.startswith("2026-12-07 10:00:30（北京时间） 最近一分钟评估 1200 条记录，新开或上调预警 4 条")
    assert "最慢的规则组已评估至 2026-12-07 09:58:55（北京时间）（滞后 95 秒）" in line
    assert "可放行 3 条，水位线暂扣 7 条" in line


def test_before_anything_was_evaluated_the_line_says_so() -> None:
    assert "已评估至 尚无；" in minute_line(cast(Any, _Live(None)), 0, 0, NOW)


def test_in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.settings import get_settings

    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    line = minute_line(cast(Any, _Live(NOW - timedelta(seconds=2))), 5, 0, NOW)
    assert "2026-12-07 10:00:30 (Beijing time)" in line and "lag 2 s" in line and "slowest" in line
