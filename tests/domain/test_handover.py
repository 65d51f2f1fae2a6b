"""Handing a warning over to a node below (pure): only the holder, only strictly below their node, only to a
node containing the warning's region that has responders; the new holder acknowledges afresh."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.escalation import LEADERSHIP, EscalationPolicy
from domain.handover import handover_refusal, handover_route, handover_targets, is_holder
from domain.regions import Tier, is_within, tier_of
from domain.routing import WarningFacts
from tests.escalation_helpers import MONDAY_10_BJ, small_directory

DIRECTORY = small_directory()
POLICY = EscalationPolicy()
CITY, DISTRICT, STREET, COMMUNITY = "510100000000", "510104000000", "510104001000", "510104001001"


def _held(tier: str, node: str, region: str = COMMUNITY, **kw: object) -> WarningFacts:
    return WarningFacts(id=7, rule="collective-petition", level="orange", region=region,
                        status=kw.pop("status", "open"), tier=tier, route_region=node, **kw)  # type: ignore[arg-type]


def _person(pid: str):  # type: ignore[no-untyped-def]
    person = DIRECTORY.responder(pid)
    assert person is not None
    return person


def test_the_district_holder_may_hand_to_the_street_or_the_community_below() -> None:
    facts = _held("district", DISTRICT)
    assert handover_targets(_person("jj-duty"), facts, DIRECTORY) == (STREET, COMMUNITY)
    assert handover_refusal(_person("jj-duty"), facts, STREET, DIRECTORY) is None


def test_only_the_holder_hands_over() -> None:
    facts = _held("street", STREET)
    assert handover_targets(_person("jj-duty"), facts, DIRECTORY) == ()  # above the holder: escalation's job
    assert "不是预警的当前负责人" in (handover_refusal(_person("jj-duty"), facts, COMMUNITY, DIRECTORY) or "")
    assert "不是预警的当前负责人" in (handover_refusal(_person("c1"), facts, COMMUNITY, DIRECTORY) or "")
    assert handover_refusal(None, facts, COMMUNITY, DIRECTORY) == "未知的处置人员"


def test_never_upward_sideways_to_an_empty_node_or_when_resolved() -> None:
    facts = _held("street", STREET)
    s1 = _person("s1")
    assert handover_targets(s1, facts, DIRECTORY) == (COMMUNITY,)
    for target in (STREET, DISTRICT, "510104001002", "510104002000"):
        assert handover_refusal(s1, facts, target, DIRECTORY) is not None
    grid = _held("street", STREET, region="510104001001005")
    assert handover_targets(s1, grid, DIRECTORY) == (COMMUNITY,)  # the grid has no responders of its own
    assert handover_refusal(s1, _held("street", STREET, status="resolved"), COMMUNITY, DIRECTORY) is not None


def test_the_leadership_holds_the_city_and_hands_to_any_node_down_to_the_region() -> None:
    facts = _held(LEADERSHIP, CITY)
    assert is_holder(_person("leader"), facts, DIRECTORY) and not is_holder(_person("city-duty"), facts, DIRECTORY)
    assert handover_targets(_person("leader"), facts, DIRECTORY) == (DISTRICT, STREET, COMMUNITY)


def test_the_route_moves_the_holder_resets_escalation_and_keeps_the_resolve_deadline() -> None:
    due = MONDAY_10_BJ + timedelta(days=2)
    facts = _held("district", DISTRICT, escalation_step=1, resolve_due_at=due, routed_steps=("open", "handover-1"))
    decision = handover_route(facts, STREET, policy=POLICY, directory=DIRECTORY, now=MONDAY_10_BJ)
    assert (decision.tier, decision.route_region, decision.escalation_step) == ("street", STREET, 0)
    assert decision.step == "handover-2" and decision.previous == ("district", DISTRICT)
    assert decision.ack_due_at == MONDAY_10_BJ + POLICY.for_level("orange").acknowledge_within
    assert decision.resolve_due_at == due
    assert [p.id for p in decision.recipients if p.unit is None] == ["s1"]


CODES = st.sampled_from([CITY, DISTRICT, STREET, COMMUNITY, "510104001001005", "510104001002", "510104002000"])


@given(region=CODES.filter(lambda c: c != CITY), holder=st.sampled_from(["leader", "jj-duty", "s1", "c1"]))
def test_every_offered_target_is_strictly_below_the_holder_and_contains_the_region(region: str, holder: str) -> None:
    person = _person(holder)
    node = CITY if holder == "leader" else person.node
    if not is_within(region, node):
        return
    facts = _held(LEADERSHIP if holder == "leader" else tier_of(node).value, node, region=region)
    targets = handover_targets(person, facts, DIRECTORY)
    for target in targets:
        assert is_within(region, target) and is_within(target, node) and target != node
        assert tier_of(target).rank > (Tier.city.rank if holder == "leader" else tier_of(node).rank)
        assert handover_refusal(person, facts, target, DIRECTORY) is None
