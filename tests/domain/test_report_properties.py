"""Properties of the 日报 on random warnings: the breakdowns add up, red and orange come first."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.situation.compute import compute_report
from domain.situation.views import AuditView, Day, WarningView
from domain.warnings import LEVELS, Level

BJ = ZoneInfo("Asia/Shanghai")
D = date(2026, 1, 20)
START = datetime(2025, 12, 1, tzinfo=BJ)
NOW = datetime(2026, 1, 21, 8, 0, tzinfo=BJ)
REGIONS = ["510104001001", "510104002000", "510105001001", "510100000000", "510106000000123"]

minutes = st.integers(min_value=0, max_value=60 * 24 * 52)  # START .. a few days after D
delays = st.one_of(st.none(), st.integers(min_value=0, max_value=60 * 24 * 10))


@st.composite
def warning_views(draw: st.DrawFn, wid: int) -> tuple[WarningView, list[AuditView]]:
    opened = START + timedelta(minutes=draw(minutes))
    ack, res, esc = draw(delays), draw(delays), draw(delays)
    acked = opened + timedelta(minutes=ack) if ack is not None else None
    resolved = opened + timedelta(minutes=res) if res is not None else None
    w = WarningView(
        id=wid, rule=draw(st.sampled_from(["a", "b", "c"])), title="", level=draw(st.sampled_from(LEVELS)),
        status="resolved" if resolved else "open", region=draw(st.sampled_from(REGIONS)), opened_at=opened,
        acknowledged_at=acked, resolved_at=resolved,
        ack_due_at=draw(st.one_of(st.none(), st.just(opened + timedelta(minutes=30)))),
        resolve_due_at=opened + timedelta(days=draw(st.integers(1, 15))),
        escalation_step=1 if esc is not None else 0,
    )
    log = [AuditView(wid, opened, "opened")]
    if esc is not None:
        log.append(AuditView(wid, opened + timedelta(minutes=esc), "escalated"))
    return w, log


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[WarningView], list[AuditView]]:
    n = draw(st.integers(min_value=0, max_value=40))
    pairs = [draw(warning_views(i + 1)) for i in range(n)]
    return [w for w, _ in pairs], [a for _, log in pairs for a in log]


@settings(max_examples=75, deadline=None)
@given(scenarios())
def test_breakdowns_sum_to_the_totals(data: tuple[list[WarningView], list[AuditView]]) -> None:
    views, log = data
    r = compute_report(day=D, warnings=views, audits=log, now=NOW)
    for attr in ("opened", "acknowledged", "escalated", "resolved"):
        total = getattr(r.totals, attr)
        assert sum(getattr(r.by_level[lvl], attr) for lvl in LEVELS) == total
        assert sum(getattr(d.counts, attr) for d in r.by_district) == total
    day = Day(D)
    assert r.totals.opened == sum(day.contains(w.opened_at) for w in views)
    assert sum(r.trend[-1].opened.values()) == r.totals.opened
    assert sum(x.count for x in r.top_rules_day) == r.totals.opened
    assert sum(x.count for x in r.top_rules_week) >= r.totals.opened


@settings(max_examples=75, deadline=None)
@given(scenarios())
def test_sla_is_a_share_and_severe_come_red_first(data: tuple[list[WarningView], list[AuditView]]) -> None:
    views, log = data
    r = compute_report(day=D, warnings=views, audits=log, now=NOW)
    for stats in (r.sla.ack, r.sla.resolve, *r.sla.ack_by_level.values()):
        assert stats.rate is None or 0.0 <= stats.rate <= 1.0
        assert len(stats.breached_ids) == stats.breached
    assert sum(s.judged for s in r.sla.ack_by_level.values()) == r.sla.ack.judged
    ranks = [w.level.rank for w in r.open_severe]
    assert ranks == sorted(ranks, reverse=True)
    assert all(w.level in (Level.red, Level.orange) for w in r.open_severe)
    assert len(r.open_severe) == r.open_by_level[Level.red] + r.open_by_level[Level.orange]
