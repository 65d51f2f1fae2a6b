"""Per-source watermarks: a source's bound, whether it holds, the release bound, heartbeats refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.watermarks import (
    DEFAULT_TIMING,
    HeartbeatError,
    SourceMark,
    SourceState,
    SourceTiming,
    check_heartbeat,
    parse_span,
    release_bound,
    source_bound,
    state_of,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
T = datetime(2026, 1, 5, tzinfo=UTC)


def mark(name: str, latest: int | None, heartbeat: int | None = None, silent: timedelta = timedelta(0)) -> SourceMark:
    return SourceMark(name, None if latest is None else T + timedelta(hours=latest),
                      None if heartbeat is None else T + timedelta(hours=heartbeat), NOW - silent)


def test_spans() -> None:
    assert parse_span("5m") == timedelta(minutes=5)
    assert parse_span("0s") == timedelta(0)
    assert parse_span("2d") == timedelta(days=2)
    with pytest.raises(ValueError, match="5m"):
        parse_span("five minutes")


def test_a_source_bound_is_its_heartbeat_or_its_latest_record_less_its_lateness() -> None:
    lateness = SourceTiming(allowed_lateness=timedelta(hours=2))
    assert source_bound(mark("a", 10), DEFAULT_TIMING) == T + timedelta(hours=10)
    assert source_bound(mark("a", 10), lateness) == T + timedelta(hours=8)
    assert source_bound(mark("a", 10, heartbeat=9), lateness) == T + timedelta(hours=9)
    assert source_bound(mark("a", None), DEFAULT_TIMING) is None


def test_the_release_bound_is_the_slowest_live_source() -> None:
    marks = {"a": mark("a", 10), "b": mark("b", 4), "c": mark("c", 1, silent=timedelta(days=2))}
    assert release_bound(marks, {}, NOW) == T + timedelta(hours=4)  # c is stale: it no longer holds
    assert release_bound(marks, {"c": SourceTiming(stale_after=timedelta(days=3))}, NOW) == T + timedelta(hours=1)
    assert release_bound({}, {}, NOW) is None


def test_a_release_group_is_held_only_by_its_own_sources() -> None:
    """A silent but live source holds back the groups it feeds, not a group of another source alone."""
    marks = {"incidents": mark("incidents", 10), "civil": mark("civil", 1), "visits": mark("visits", 6)}
    assert release_bound(marks, {}, NOW) == T + timedelta(hours=1)
    assert release_bound(marks, {}, NOW, sources={"incidents"}) == T + timedelta(hours=10)
    assert release_bound(marks, {}, NOW, sources={"civil", "visits"}) == T + timedelta(hours=1)
    assert release_bound(marks, {}, NOW, sources={"visits", "never-heard-of"}) == T + timedelta(hours=6)
    assert release_bound(marks, {}, NOW, sources=set()) is None


def test_states() -> None:
    assert state_of(mark("a", 1), DEFAULT_TIMING, NOW) is SourceState.live
    assert state_of(mark("a", 1, silent=timedelta(minutes=11)), DEFAULT_TIMING, NOW) is SourceState.late
    assert state_of(mark("a", 1, silent=timedelta(days=2)), DEFAULT_TIMING, NOW) is SourceState.stale


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), min_size=1, max_size=6))
def test_the_release_bound_never_passes_a_live_source(latest: list[tuple[int, int]]) -> None:
    marks = {f"s{i}": mark(f"s{i}", a, b) for i, (a, b) in enumerate(latest)}
    bound = release_bound(marks, {}, NOW)
    assert bound is not None
    assert all(bound <= T + timedelta(hours=max(a, b)) for a, b in latest)
    assert any(bound == T + timedelta(hours=max(a, b)) for a, b in latest)


def test_heartbeats_in_the_future_or_going_back_are_refused() -> None:
    check_heartbeat("xinfang", T, T + timedelta(hours=1), NOW)
    with pytest.raises(HeartbeatError, match="未来"):
        check_heartbeat("xinfang", None, NOW + timedelta(hours=1), NOW)
    with pytest.raises(HeartbeatError, match="倒退"):
        check_heartbeat("xinfang", T + timedelta(hours=2), T + timedelta(hours=1), NOW)


def test_a_refused_heartbeat_says_why_in_the_language_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.i18n import explain
    from tests.cjk import has_cjk
    from tests.language import speak

    refusals = []
    for previous, at in ((None, datetime(2026, 1, 5, 9)), (None, NOW + timedelta(hours=1)),
                         (T + timedelta(hours=2), T + timedelta(hours=1))):
        with pytest.raises(HeartbeatError) as caught:
            check_heartbeat("xinfang", previous, at, NOW)
        refusals.append(caught.value)
    assert all(explain(r).startswith("来源 xinfang 的完整时间") for r in refusals)
    speak(monkeypatch, "en")
    english = [explain(r) for r in refusals]
    assert all("of source xinfang" in e and not has_cjk(e) for e in english), english
