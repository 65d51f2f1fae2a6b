"""The 日报's arithmetic on a hand-made day (tests/report_scenario.py), without a store."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from domain.situation.compute import Counts, SituationReport, compute_report, district_of
from domain.situation.jsonable import report_to_dict
from domain.situation.sla import DeadlineStats, ack_done, ack_due, deadline_stats
from domain.situation.views import Day, WarningView
from domain.warnings import Level
from tests.report_scenario import CITY, JINJIANG, NOW, QINGYANG, REGIONS, D, at, audits, warnings


def _report(now: datetime = NOW) -> SituationReport:
    views = [w for w in warnings() if w.id != 8]  # the store would not load 8; it must not matter
    return compute_report(day=D, warnings=views, audits=audits(views), now=now, regions=REGIONS)


def test_counts_per_level() -> None:
    r = _report()
    assert r.totals == Counts(opened=4, acknowledged=3, escalated=1, resolved=2)
    assert r.by_level[Level.red] == Counts(opened=1, acknowledged=1)
    assert r.by_level[Level.orange] == Counts(opened=2, escalated=1, resolved=1)
    assert r.by_level[Level.yellow] == Counts(opened=1, acknowledged=1, resolved=1)
    assert r.by_level[Level.blue] == Counts(acknowledged=1)


def test_counts_per_district_with_names() -> None:
    r = _report()
    rows = {d.code: d for d in r.by_district}
    assert set(rows) == {JINJIANG, QINGYANG}  # the city-level warning 6 did nothing on D
    assert rows[JINJIANG].name == "锦江区"
    assert rows[JINJIANG].counts == Counts(opened=2, acknowledged=2, resolved=2)
    assert rows[QINGYANG].counts == Counts(opened=2, acknowledged=1, escalated=1)
    assert district_of("510104001001") == JINJIANG and district_of(CITY) == CITY


def test_ack_sla_arithmetic() -> None:
    sla = _report().sla
    # met: 1 and 3; breached: 2 (never), 4 (late, acked on D), 9 (due 23:30, acked next day).
    assert (sla.ack.met, sla.ack.breached, sla.ack.pending) == (2, 3, 0)
    assert sla.ack.rate == pytest.approx(0.4)
    assert sla.ack.breached_ids == (2, 4, 9)
    assert sla.ack_by_level[Level.orange] == DeadlineStats(met=0, breached=2)
    assert sla.ack_by_level[Level.red].rate == 1.0
    assert sla.ack_by_level[Level.blue].rate == 0.0


def test_resolve_breaches() -> None:
    sla = _report().sla
    # 3 resolved on D well within its deadline; 5 resolved on D two hours late; 6's breach was on D-1.
    assert (sla.resolve.met, sla.resolve.breached, sla.resolve.breached_ids) == (1, 1, (5,))


def test_deadlines_later_today_are_pending_not_breached() -> None:
    # Made at 21:30 on D: warning 9's deadline (23:30) has not come yet.
    r = _report(now=at(0, 21, 30))
    assert r.as_of == at(0, 21, 30)
    assert (r.sla.ack.met, r.sla.ack.breached, r.sla.ack.pending) == (2, 2, 0)  # 9 not opened yet
    late = _report(now=at(0, 23, 10))  # 9 is open now, its deadline 20 minutes ahead
    assert (late.sla.ack.breached, late.sla.ack.pending) == (2, 1)
    assert [w.ack_state for w in late.open_severe if w.id == 9] == ["waiting"]


def test_open_red_and_orange_listed_first_red_before_orange() -> None:
    r = _report()
    assert [w.id for w in r.open_severe] == [6, 1, 2, 9]
    states = {w.id: (w.ack_state, w.escalation_step) for w in r.open_severe}
    # 9 was escalated after midnight: at the end of D it stood at step 0.
    assert states == {6: ("acknowledged", 0), 1: ("acknowledged", 0), 2: ("overdue", 1), 9: ("overdue", 0)}
    assert r.open_severe[1].region_path == "成都市 / 锦江区 / 春熙路街道 / 和平社区"
    assert r.open_by_level == {Level.red: 2, Level.orange: 2, Level.yellow: 0, Level.blue: 1}


def test_top_rules_day_and_week() -> None:
    r = _report()
    assert [(x.rule, x.count) for x in r.top_rules_day] == [
        ("petition-surge", 2), ("mass-gathering", 1), ("road-blockade", 1)]
    assert r.top_rules_day[0].title == "信访激增"
    assert [(x.rule, x.count) for x in r.top_rules_week] == [
        ("mass-gathering", 2), ("petition-surge", 2), ("wage-arrears", 2), ("road-blockade", 1)]


def test_trend_covers_30_days_ending_on_the_day() -> None:
    r = _report()
    assert len(r.trend) == 30
    assert r.trend[0].date == D - timedelta(days=29) and r.trend[-1].date == D
    last = r.trend[-1].opened
    assert last == {Level.blue: 0, Level.yellow: 1, Level.orange: 2, Level.red: 1}
    assert sum(sum(t.opened.values()) for t in r.trend) == 8


def test_days_are_beijing_days() -> None:
    # 23:30 UTC on the 19th is 07:30 on the 20th in Beijing.
    day = Day(date(2026, 1, 20))
    assert day.contains(datetime.fromisoformat("2026-01-19T23:30:00+00:00"))
    assert not day.contains(datetime.fromisoformat("2026-01-19T15:59:00+00:00"))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        WarningView(1, "r", "", Level.red, "open", JINJIANG, datetime(2026, 1, 20, 9))
    with pytest.raises(ValueError, match="naive"):
        compute_report(day=D, warnings=[], audits=[], now=datetime(2026, 1, 21))


def test_deadline_stats_of_nothing_has_no_rate() -> None:
    stats = deadline_stats([], day=Day(D), cutoff=NOW, due=ack_due, done=ack_done)
    assert stats.rate is None and stats.judged == 0


def test_json_form() -> None:
    data = report_to_dict(_report())
    assert data["day"] == "2026-01-20"
    assert data["by_level"]["orange"]["opened"] == 2
    assert data["sla"]["ack"]["rate"] == pytest.approx(0.4)
    assert data["open_severe"][0]["level"] == "red"
