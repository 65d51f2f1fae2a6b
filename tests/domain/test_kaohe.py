"""The 考核 report's periods, figures and score on a hand-made week (tests/kaohe_scenario.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from domain.kaohe.compute import Deadlines, KaoheInputs, NodeFigures, Tally, compute_figures, outcome
from domain.kaohe.period import last_complete, period_containing
from domain.kaohe.report import kaohe_to_dict, make_kaohe_report
from domain.kaohe.score import components, rank, score, validate_weights
from domain.kaohe.views import CaseFacts, Escalation, WarningFacts
from domain.regions import Tier
from tests.kaohe_scenario import (
    BJ,
    EXPECTED,
    JINJIANG,
    NOW,
    QINGYANG,
    REGIONS,
    WEEK,
    A,
    B,
    C,
    day,
    inputs,
)


def test_week_and_month_periods_in_beijing_time() -> None:
    assert (WEEK.first, WEEK.last) == (date(2026, 1, 12), date(2026, 1, 18))
    assert WEEK.slug == "2026-W03" and WEEK.label == "2026年第3周（01月12日至01月18日）"
    assert WEEK.start == datetime(2026, 1, 12, tzinfo=BJ) and WEEK.end == datetime(2026, 1, 19, tzinfo=BJ)
    feb = period_containing("month", date(2028, 2, 10))
    assert (feb.first, feb.last, feb.slug, feb.label) == (date(2028, 2, 1), date(2028, 2, 29), "2028-02", "2028年2月")
    # 2026-01-01 is a Thursday: ISO week 1 of 2026 starts on 2025-12-29.
    assert period_containing("week", date(2026, 1, 1)).slug == "2026-W01"
    # The last complete period: a Sunday 23:59 in Beijing is still inside its week (16:00 UTC is midnight).
    sunday_late = datetime(2026, 1, 18, 23, 59, tzinfo=BJ)
    assert last_complete("week", sunday_late).first == date(2026, 1, 5)
    assert last_complete("week", NOW) == WEEK
    assert last_complete("month", datetime(2026, 3, 1, 8, tzinfo=BJ)) == period_containing("month", date(2026, 2, 1))
    with pytest.raises(ValueError, match="未知的周期"):
        period_containing("year", date(2026, 1, 1))  # type: ignore[arg-type]


def test_outcome_of_a_deadline() -> None:
    due, cutoff = day(1, 12), day(7, 0)
    assert outcome(due, day(1, 11), cutoff) == "met"
    assert outcome(due, day(1, 12), cutoff) == "met"  # on the minute is in time
    assert outcome(due, day(1, 13), cutoff) == "breached"
    assert outcome(due, None, cutoff) == "breached"
    assert outcome(due, day(8, 0), cutoff) == "breached"  # done after the report looked: not yet done
    assert outcome(day(9, 0), None, cutoff) == "pending"


def _tallies(f: NodeFigures) -> dict[str, object]:
    out: dict[str, object] = {"received": f.received, "escalated": f.escalated}
    for name in ("ack", "resolve", "tasks", "visits", "petitions", "disputes"):
        t: Tally = getattr(f, name)
        out[name] = (t.met, t.breached)
    return out


def test_figures_per_street_match_the_hand_count() -> None:
    report = make_kaohe_report(inputs(), period=WEEK, now=NOW, regions=REGIONS)
    streets = {r.figures.code: r for r in report.streets}
    assert set(streets) == {A, B, C}
    for code, expected in EXPECTED.items():
        assert _tallies(streets[code].figures) == {k: v for k, v in expected.items() if k != "score"}, code
        assert streets[code].score == expected["score"], code
    assert [r.figures.code for r in report.streets] == [A, C, B]
    assert [r.rank for r in report.streets] == [1, 2, 3]
    # C's visit is pending: its 72 hours run past the week.
    assert streets[C].figures.visits == Tally(0, 0, 1)


def test_district_figures_are_their_streets_together() -> None:
    report = make_kaohe_report(inputs(), period=WEEK, now=NOW, regions=REGIONS)
    districts = {r.figures.code: r.figures for r in report.districts}
    assert set(districts) == {JINJIANG, QINGYANG}
    jj = districts[JINJIANG]
    assert (jj.received, jj.escalated) == (2, 1)  # warning 2 escalated twice within 锦江: counted once
    assert jj.ack == Tally(1, 1) and jj.resolve == Tally(1, 2) and jj.cases == Tally(1, 2)
    assert districts[QINGYANG].received == 1


def test_escalation_from_the_district_is_not_the_streets() -> None:
    """An escalation away from the district (to the city) counts for the district, not its streets."""
    data = KaoheInputs(warnings=inputs().warnings, escalations=[Escalation(3, day(2, 9), QINGYANG)])
    figures = {f.code: f for f in compute_figures(data, period=WEEK, now=NOW, regions=REGIONS)}
    assert figures[QINGYANG].escalated == 1 and figures[C].escalated == 0
    # Outside the period, or after the report looked: not counted.
    late = KaoheInputs(escalations=[Escalation(3, day(7, 9), QINGYANG), Escalation(3, day(-1, 9), QINGYANG)])
    assert all(f.escalated == 0 for f in compute_figures(late, period=WEEK, now=NOW, regions=REGIONS))


def test_a_period_not_over_counts_nothing_after_now() -> None:
    now = day(1, 10, 0)  # Tuesday 10:00, before warning 2 even opened
    figures = {f.code: f for f in compute_figures(inputs(), period=WEEK, now=now, regions=REGIONS)}
    assert figures[B].received == 0 and figures[B].ack == Tally()
    # 1 was resolved in time on Monday; 4 was due at 09:00 and is still not resolved: breached.
    assert figures[A].resolve == Tally(1, 1)
    assert figures[C].tasks == Tally(0, 0, 1) and figures[C].visits == Tally()  # t4 due Sunday; p3 not due yet
    with pytest.raises(ValueError, match="naive"):
        compute_figures(inputs(), period=WEEK, now=datetime(2026, 1, 19), regions=REGIONS)


def test_case_deadlines_are_parameters() -> None:
    # With 90 days for petitions, x2 (first 2025-11-16) is not yet due in the week, x1 not either.
    longer = Deadlines(petition=timedelta(days=90))
    figures = {f.code: f for f in compute_figures(inputs(), period=WEEK, now=NOW, regions=REGIONS,
                                                   deadlines=longer)}
    assert figures[A].petitions == Tally() and figures[B].petitions == Tally()
    one = KaoheInputs(cases=[CaseFacts("dispute", "d", "510104001001", day(-10, 9), None)])
    short = Deadlines(dispute=timedelta(days=12))
    figures = {f.code: f for f in compute_figures(one, period=WEEK, now=NOW, regions=REGIONS, deadlines=short)}
    assert figures[A].disputes == Tally(0, 1)


def test_score_components_and_weights() -> None:
    f = NodeFigures(code=A, name="甲", tier=Tier.street, received=4, escalated=1, ack=Tally(3, 1))
    assert components(f) == {"ack": 0.75, "resolve": None, "escalation": 0.75, "tasks": None, "visits": None,
                             "cases": None}
    assert score(f) == 75.0
    assert score(f, {"ack": 1.0}) == 75.0
    assert score(f, {"tasks": 1.0}) is None  # no data for the only weighted component
    # More escalations than warnings received: floored at 0; escalated without any received: 0.
    assert components(NodeFigures(code=A, name="", tier=Tier.street, received=1, escalated=3))["escalation"] == 0.0
    assert components(NodeFigures(code=A, name="", tier=Tier.street, escalated=1))["escalation"] == 0.0
    with pytest.raises(ValueError, match="未知的评分项"):
        validate_weights({"speed": 1.0})
    with pytest.raises(ValueError, match="不能全为零"):
        validate_weights({"ack": 0.0})
    with pytest.raises(ValueError, match="须为零或正数"):
        validate_weights({"ack": -1.0, "resolve": 2.0})


def test_unscored_nodes_rank_last_by_code() -> None:
    empty = [NodeFigures(code=c, name=c, tier=Tier.street) for c in ("510104009000", "510104003000")]
    scored = NodeFigures(code="510104005000", name="", tier=Tier.street, ack=Tally(0, 1))
    ranked = rank([*empty, scored])
    assert [(r.rank, r.figures.code, r.score) for r in ranked] == [
        (1, "510104005000", 0.0), (2, "510104003000", None), (3, "510104009000", None)]


def test_json_of_the_report() -> None:
    data = kaohe_to_dict(make_kaohe_report(inputs(), period=WEEK, now=NOW, regions=REGIONS))
    assert data["period"] == {"kind": "week", "first": "2026-01-12", "last": "2026-01-18",
                              "label": WEEK.label}
    assert data["deadlines"] == {"petition_days": 60.0, "dispute_days": 30.0, "visit_hours": 72.0}
    first = data["streets"][0]
    assert (first["rank"], first["code"], first["score"]) == (1, A, 82.5)
    assert first["cases"] == {"met": 1, "breached": 1, "pending": 0, "rate": 0.5}
    assert first["components"]["resolve"] == 0.5


def test_bad_codes_and_the_city_count_nowhere() -> None:
    data = KaoheInputs(warnings=[WarningFacts(9, "not-a-code", day(0, 9), ack_due_at=day(0, 10))])
    figures = compute_figures(data, period=WEEK, now=NOW, regions=REGIONS)
    assert all(f.received == 0 and f.ack == Tally() for f in figures)
