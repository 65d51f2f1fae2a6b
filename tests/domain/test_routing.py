"""Routing decided in the domain: who is told, at which step, by which channel, with which deadlines (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.escalation import LEADERSHIP, AlsoNotify, CategoryOverride, EscalationPolicy
from domain.regions import Tier
from domain.routing import (
    DIGEST_LEVELS,
    WarningFacts,
    decide_route,
    digest_key,
    step_name,
)
from domain.warnings import Level
from tests.escalation_helpers import MONDAY_10_BJ, small_directory

T0 = MONDAY_10_BJ
POLICY = EscalationPolicy()
DIRECTORY = small_directory()
REGIONS = ["510104001001", "510104001002", "510104001000", "510104000000", "510105000000", "510104001001005"]
TIERS = [Tier.community.value, Tier.street.value, Tier.district.value, Tier.city.value, LEADERSHIP]


def _facts(level: str = "yellow", region: str = "510104001001", **kw: object) -> WarningFacts:
    return WarningFacts(id=7, rule="collective-petition", level=level, region=region,
                        status=kw.pop("status", "open"), **kw)  # type: ignore[arg-type]


def _rank(tier: str) -> int:
    return -1 if tier == LEADERSHIP else Tier(tier).rank


def _opened(level: str = "yellow", region: str = "510104001001") -> WarningFacts:
    """Facts of a warning as the ``open`` step left it."""
    d = decide_route(_facts(level, region), "opened", policy=POLICY, directory=DIRECTORY, now=T0)
    return replace(_facts(level, region), tier=d.tier, route_region=d.route_region, ack_due_at=d.ack_due_at,
                   resolve_due_at=d.resolve_due_at, pinned=d.pin, routed_steps=(d.step,))


def test_an_opened_yellow_warning_goes_to_its_street_with_the_level_deadlines() -> None:
    d = decide_route(_facts(), "opened", policy=POLICY, directory=DIRECTORY, now=T0)
    assert (d.step, d.tier, d.route_region, d.escalation_step) == ("open", "street", "510104001000", 0)
    assert (d.ack_due_at, d.resolve_due_at) == (T0 + timedelta(hours=2), T0 + timedelta(days=7))
    assert [(x.recipient, x.channel, x.address) for x in d.deliveries] == [("s1", "file", "s1")]
    assert d.pin is not None and d.pin["id"] == POLICY.snapshot()["id"]
    assert not d.already_routed and not d.reset_acknowledgement


def test_a_change_of_a_warning_never_routed_starts_as_opened() -> None:
    d = decide_route(_facts("orange"), "escalated", policy=POLICY, directory=DIRECTORY, now=T0)
    assert (d.change, d.step, d.tier) == ("opened", "open", "district")


def test_an_escalation_tells_the_tier_that_missed_and_the_one_above() -> None:
    d = decide_route(_opened(), "escalated", policy=POLICY, directory=DIRECTORY, now=T0 + timedelta(hours=3))
    assert (d.step, d.tier, d.route_region, d.escalation_step) == ("escalate-1", "district", "510104000000", 1)
    assert d.targets == (("street", "510104001000"), ("district", "510104000000"))
    assert {x.recipient for x in d.deliveries} == {"s1", "jj-duty"}
    assert {(x.recipient, x.channel) for x in d.deliveries} >= {("jj-duty", "webhook"), ("jj-duty", "file")}
    assert d.ack_due_at == T0 + timedelta(hours=5)


def test_above_the_city_is_the_duty_leadership() -> None:
    at_city = replace(_opened("red"), tier="city", route_region="510100000000")
    d = decide_route(at_city, "escalated", policy=POLICY, directory=DIRECTORY, now=T0)
    assert (d.tier, d.route_region) == (LEADERSHIP, "510100000000")
    assert {x.recipient for x in d.deliveries} == {"city-duty", "leader"}


def test_a_reminder_tells_the_current_and_the_originally_responsible_node() -> None:
    escalated = replace(_opened(), tier="district", route_region="510104000000", escalation_step=1,
                        routed_steps=("open", "escalate-1", "remind-1"))
    d = decide_route(escalated, "reminder", policy=POLICY, directory=DIRECTORY, now=T0)
    assert d.step == "remind-2" and d.ack_due_at == T0 + timedelta(hours=1)
    assert d.targets == (("district", "510104000000"), ("street", "510104001000"))
    assert (d.tier, d.escalation_step) == ("district", 1)


def test_a_raise_of_an_acknowledged_warning_takes_the_acknowledgement_back_with_a_fresh_deadline() -> None:
    acked = replace(_opened(), status="acknowledged", ack_due_at=T0 - timedelta(days=1))
    d = decide_route(replace(acked, level="orange"), "raised", policy=POLICY, directory=DIRECTORY,
                     now=T0 + timedelta(hours=3))
    assert d.reset_acknowledgement and d.step == "raise-orange" and d.tier == "district"
    assert d.ack_due_at == T0 + timedelta(hours=3, minutes=30)


def test_a_step_already_routed_changes_nothing() -> None:
    facts = _opened()
    d = decide_route(facts, "opened", policy=POLICY, directory=DIRECTORY, now=T0 + timedelta(hours=1))
    assert d.already_routed and d.deliveries == [] and d.pin is None
    assert (d.tier, d.route_region, d.ack_due_at) == (facts.tier, facts.route_region, facts.ack_due_at)


def test_the_pinned_policy_decides_not_the_fallback() -> None:
    pinned = _opened()
    stricter = EscalationPolicy.model_validate({"levels": {**{k.value: v.model_dump() for k, v in
                                                              POLICY.levels.items()},
                                                           "yellow": {"tier": "street", "acknowledge_within": "5m",
                                                                      "resolve_within": "1d", "remind_every": "5m"}}})
    d = decide_route(pinned, "escalated", policy=stricter, directory=DIRECTORY, now=T0)
    assert d.ack_due_at == T0 + timedelta(hours=2) and d.policy.snapshot()["id"] == POLICY.snapshot()["id"]


def test_category_overrides_add_the_specialist_unit() -> None:
    policy = EscalationPolicy(overrides=(CategoryOverride(
        name="petitions", categories=("petition",), also=(AlsoNotify(unit="petition-office", tier="same"),)),))
    d = decide_route(_facts(), "opened", policy=policy, directory=DIRECTORY, now=T0, categories=("petition",))
    assert [p.id for p in d.recipients] == ["s1", "s1-petition"]
    plain = decide_route(_facts(), "opened", policy=policy, directory=DIRECTORY, now=T0)
    assert [p.id for p in plain.recipients] == ["s1"]


def test_unknown_changes_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown routing change"):
        decide_route(_facts(), "closed", policy=POLICY, directory=DIRECTORY, now=T0)
    with pytest.raises(ValueError, match="naive"):
        decide_route(_facts(), "opened", policy=POLICY, directory=DIRECTORY, now=T0.replace(tzinfo=None))


def test_step_names_count_over_the_whole_life() -> None:
    done = ("open", "escalate-1", "raise-orange", "escalate-2", "remind-1")
    assert step_name("escalated", "orange", done) == "escalate-3"
    assert step_name("reminder", "orange", done) == "remind-2"
    assert step_name("raised", "red", done) == "raise-red"


def test_a_digest_key_ignores_member_order() -> None:
    assert digest_key(["b", "a"]) == digest_key(["a", "b"]) != digest_key(["a"])
    assert {"blue", "yellow"} == DIGEST_LEVELS


levels = st.sampled_from([lv.value for lv in Level])
regions = st.sampled_from(REGIONS)
minutes = st.integers(min_value=0, max_value=60 * 24 * 30)


@st.composite
def routed_facts(draw: st.DrawFn) -> WarningFacts:
    """A warning already routed somewhere, at any level, status and deadline."""
    return WarningFacts(
        id=draw(st.integers(1, 10_000)), rule="collective-petition", level=draw(levels), region=draw(regions),
        status=draw(st.sampled_from(["open", "acknowledged"])), tier=draw(st.sampled_from(TIERS)),
        route_region=draw(st.sampled_from(["510104001000", "510104000000", "510100000000"])),
        escalation_step=draw(st.integers(0, 3)),
        ack_due_at=T0 + timedelta(minutes=draw(minutes)), resolve_due_at=T0 + timedelta(minutes=draw(minutes)),
        routed_steps=tuple(draw(st.lists(st.sampled_from(["open", "escalate-1", "remind-1", "raise-red"]),
                                         max_size=4, unique=True))))


@settings(max_examples=200, deadline=None)
@given(routed_facts(), st.sampled_from(["opened", "raised", "escalated", "reminder", "overdue"]), minutes)
def test_every_new_step_tells_someone_once_per_channel_with_a_step_not_routed_before(
    facts: WarningFacts, change: str, later: int
) -> None:
    now = T0 + timedelta(minutes=later)
    d = decide_route(facts, change, policy=POLICY, directory=DIRECTORY, now=now)
    assert d == decide_route(facts, change, policy=POLICY, directory=DIRECTORY, now=now)  # pure
    if d.already_routed:
        assert d.step in facts.routed_steps and not d.deliveries
        assert (d.tier, d.route_region, d.ack_due_at) == (facts.tier, facts.route_region, facts.ack_due_at)
        return
    assert d.step not in facts.routed_steps
    assert d.recipients, "never nobody: the leadership is the last resort"
    keys = [(x.recipient, x.channel) for x in d.deliveries]
    assert len(keys) == len(set(keys))
    assert {x.recipient for x in d.deliveries} == {p.id for p in d.recipients}


@settings(max_examples=200, deadline=None)
@given(routed_facts(), levels, minutes)
def test_a_raise_never_routes_downward_nor_loosens_the_resolve_deadline(
    facts: WarningFacts, level: str, later: int
) -> None:
    d = decide_route(replace(facts, level=level, routed_steps=()), "raised", policy=POLICY, directory=DIRECTORY,
                     now=T0 + timedelta(minutes=later))
    assert _rank(d.tier) <= _rank(facts.tier)
    assert facts.resolve_due_at is not None and d.resolve_due_at is not None
    assert d.resolve_due_at <= facts.resolve_due_at
    assert d.reset_acknowledgement == (facts.status == "acknowledged")


@settings(max_examples=200, deadline=None)
@given(routed_facts(), minutes)
def test_an_escalation_climbs_exactly_one_step_and_tells_the_node_that_missed(facts: WarningFacts,
                                                                            later: int) -> None:
    now = T0 + timedelta(minutes=later)
    d = decide_route(replace(facts, routed_steps=()), "escalated", policy=POLICY, directory=DIRECTORY, now=now)
    assert d.escalation_step == facts.escalation_step + 1
    assert _rank(d.tier) == max(-1, _rank(facts.tier) - 1)
    assert d.targets[0] == (facts.tier, facts.route_region)
    assert d.ack_due_at == now + POLICY.for_level(facts.level).acknowledge_within
