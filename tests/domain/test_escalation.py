"""Escalation policy: level → tier → ancestor node, deadlines, next step, what is due (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from domain.escalation import (
    LEADERSHIP,
    EscalationPolicy,
    SlaView,
    deadlines,
    due_escalations,
    next_step,
    responsible_node,
)
from domain.regions import Tier
from domain.warnings import Level
from integrations.settings import PACKAGE_ROOT

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
GRID = "510104001002003"


@pytest.mark.parametrize(
    ("level", "tier", "code"),
    [
        ("blue", Tier.community, "510104001002"),
        ("yellow", Tier.street, "510104001000"),
        ("orange", Tier.district, "510104000000"),
        ("red", Tier.city, "510100000000"),
    ],
)
def test_each_level_goes_to_its_tiers_ancestor(level: str, tier: Tier, code: str) -> None:
    assert responsible_node(GRID, level, EscalationPolicy()) == (tier, code)


def test_a_region_coarser_than_the_tier_answers_for_itself() -> None:
    assert responsible_node("510104000000", Level.blue, EscalationPolicy()) == (Tier.district, "510104000000")


def test_next_step_climbs_to_the_leadership_and_stops() -> None:
    assert next_step(Tier.grid) is Tier.community
    assert next_step("street") is Tier.district
    assert next_step(Tier.city) == LEADERSHIP
    assert next_step(LEADERSHIP) == LEADERSHIP


def test_default_deadlines_are_the_design_table() -> None:
    p = EscalationPolicy()
    expected = {"blue": (24 * 60, 15 * 24 * 60), "yellow": (120, 7 * 24 * 60), "orange": (30, 72 * 60),
                "red": (15, 24 * 60)}
    for level, (ack, res) in expected.items():
        d = deadlines(T0, level, p)
        assert d.ack_due_at - T0 == timedelta(minutes=ack)
        assert d.resolve_due_at - T0 == timedelta(minutes=res)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        deadlines(datetime(2026, 1, 5), "red", EscalationPolicy())


def test_the_shipped_policy_loads_and_its_snapshot_round_trips() -> None:
    policy = EscalationPolicy.load(PACKAGE_ROOT / "integrations" / "data" / "escalation.yaml")
    assert policy.for_level("orange").acknowledge_within == timedelta(minutes=30)
    snap = policy.snapshot()
    assert len(snap["id"]) == 16
    assert EscalationPolicy.from_snapshot(snap) == policy
    assert [a.unit for a in policy.extras_for("collective-petition")] == ["petition-office"]
    assert [a.unit for a in policy.extras_for("noise", ["wage_arrears"])] == ["labour-bureau"]
    assert policy.extras_for("noise-complaint-spike") == []


def test_a_policy_missing_a_level_or_with_unknown_keys_is_rejected() -> None:
    with pytest.raises(ValidationError, match="升级策略缺少以下等级"):
        EscalationPolicy.model_validate({"levels": {"red": {"tier": "city", "acknowledge_within": "15m",
                                                            "resolve_within": "1d", "remind_every": "15m"}}})
    with pytest.raises(ValidationError):
        EscalationPolicy.model_validate({"escalation_step": 2})


def _view(**kw: object) -> SlaView:
    base: dict[str, object] = dict(id=1, status="open", level="yellow", tier="street",
                                   route_region="510104001000", escalation_step=0,
                                   ack_due_at=T0, policy=EscalationPolicy())
    base.update(kw)
    return SlaView(**base)  # type: ignore[arg-type]


def test_due_escalations_escalate_once_then_remind() -> None:
    now = T0 + timedelta(minutes=1)
    [due] = due_escalations(now, [_view()])
    assert (due.action, due.to_step, due.to_code) == ("escalate", Tier.district, "510104000000")
    assert due.next_due_at == now + timedelta(hours=2)
    [again] = due_escalations(now, [_view(tier="district", route_region="510104000000", escalation_step=1)])
    assert (again.action, again.to_code) == ("remind", "510104000000")
    assert again.next_due_at == now + timedelta(hours=1)


def test_nothing_is_due_before_the_deadline_or_once_acknowledged() -> None:
    assert due_escalations(T0 - timedelta(seconds=1), [_view()]) == []
    assert due_escalations(T0, [_view(status="acknowledged")]) == []


def test_more_steps_climb_to_the_leadership_then_remind() -> None:
    p = EscalationPolicy(escalation_steps=3)
    [due] = due_escalations(T0, [_view(level="red", tier="city", route_region="510100000000", policy=p)])
    assert (due.action, due.to_step, due.to_code) == ("escalate", LEADERSHIP, "510100000000")
    [top] = due_escalations(T0, [_view(level="red", tier=LEADERSHIP, route_region="510100000000",
                                       escalation_step=1, policy=p)])
    assert top.action == "remind"
