"""Sources gone silent: which warnings open and which resolve (domain.source_alerts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.source_alerts import RULE, fingerprint, source_alerts
from domain.watermarks import SourceMark, SourceTiming

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
CITY = "510100000000"
TIMING = SourceTiming(interval=timedelta(minutes=5), stale_after=timedelta(hours=6))


def mark(name: str, silent: timedelta | None) -> SourceMark:
    at = None if silent is None else NOW - silent
    return SourceMark(name, at, None, at)


def test_a_silent_source_opens_one_warning_for_the_city_that_explains_itself() -> None:
    alerts = source_alerts({"a": mark("a", timedelta(hours=7))}, {"a": TIMING}, set(), now=NOW, city=CITY,
                           version="v1")
    (w,) = alerts.opened
    assert (w.rule, w.fingerprint, w.region, w.level.value) == (RULE, fingerprint("a"), CITY, "yellow")
    assert "7.0 小时" in w.summary and "stale_after 6.0 小时" in w.explanation and "北京时间" in w.explanation
    assert alerts.recovered == ()


def test_open_warnings_are_not_doubled_and_resolve_when_the_source_returns() -> None:
    marks = {"a": mark("a", timedelta(hours=7)), "b": mark("b", timedelta(minutes=1))}
    alerts = source_alerts(marks, {"a": TIMING, "b": TIMING}, {"a", "b"}, now=NOW, city=CITY, version="v1")
    assert alerts.opened == () and alerts.recovered == ("b",)


def test_a_source_never_heard_from_raises_nothing() -> None:
    alerts = source_alerts({}, {"a": TIMING}, set(), now=NOW, city=CITY, version="v1")
    assert alerts.opened == () and alerts.recovered == ()


@given(st.dictionaries(st.sampled_from("abcde"), st.one_of(st.none(), st.integers(0, 48 * 60))),
       st.sets(st.sampled_from("abcde")))
def test_after_applying_the_alerts_exactly_the_stale_heard_sources_have_one(
        silences: dict[str, int | None], already: set[str]) -> None:
    marks = {n: mark(n, None if m is None else timedelta(minutes=m)) for n, m in silences.items()}
    timings = {n: TIMING for n in "abcde"}
    alerts = source_alerts(marks, timings, already, now=NOW, city=CITY, version="v1")
    after = (already - set(alerts.recovered)) | {w.fingerprint.split(":", 1)[1] for w in alerts.opened}
    stale = {n for n, m in silences.items() if m is not None and timedelta(minutes=m) > TIMING.stale_after}
    assert after == stale
    assert not {w.fingerprint.split(":", 1)[1] for w in alerts.opened} & already
