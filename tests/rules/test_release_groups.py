"""Release groups (rules/run/release_groups.py): who holds which rules back in live evaluation."""

from __future__ import annotations

from typing import Any

import pytest

from rules.language.loader import load_rulebook
from rules.run.release_groups import ANY_SOURCE, kind_sources, plan_release, single_group
from tests.rules.engine_helpers import book

SOURCES = kind_sources([("xinfang", "petition"), ("mediation", "dispute"), ("public-safety", "incident"),
                        ("civil-due", "care_visit_due"), ("register", "care_visit_due"),
                        ("civil-visit", "care_visit")])

RULES = """\
- id: serious
  record: incident
  levels: [{level: red}]
- id: collective
  record: petition
  levels: [{level: yellow}]
- id: dispute-then-petition
  sequence:
    - {record: dispute}
    - {record: petition}
  join: [person]
  within: 7d
  levels: [{level: orange}]
- id: missed
  absence:
    after: {record: care_visit_due}
    missing: {record: care_visit}
  join: [person]
  within: 7d
  levels: [{level: yellow}]
- id: grid
  record: grid_report
  levels: [{level: blue}]
- id: repeat
  record: petition
  window: {within: 30d, by: [person], aggregate: count}
  levels: [{level: orange, when: {count: {gte: 3}}}]
"""


@pytest.fixture(scope="module")
def default_plan() -> Any:
    from integrations.sources.config import DEFAULT_SOURCES_FILE, load_sources

    declared = kind_sources((s.name, s.config.kind) for s in load_sources(DEFAULT_SOURCES_FILE).specs)
    return load_rulebook(), plan_release(load_rulebook().rules, declared)


def test_rules_fed_by_the_same_sources_share_a_group() -> None:
    plan = plan_release(book(RULES).rules, SOURCES)
    assert [(g.name, g.rules) for g in plan.groups] == [
        ("public-safety", ("serious",)),
        ("xinfang", ("collective", "repeat")),
        ("mediation+xinfang", ("dispute-then-petition",)),
        ("civil-due+civil-visit+register", ("missed",)),
        (ANY_SOURCE, ("grid",)),
    ]
    assert plan.group_of("serious").single_source and plan.group_of("repeat").single_source
    assert plan.group_of("dispute-then-petition").sources == frozenset({"mediation", "xinfang"})
    assert not plan.group_of("dispute-then-petition").single_source
    # A kind no declared source delivers may come from anywhere: every source holds its rules.
    assert plan.group_of("grid").sources is None and not plan.group_of("grid").single_source
    assert plan.group_of("missed").kinds == {"care_visit_due", "care_visit"}
    assert not any(g.chained or g.exports for g in plan.groups)


def test_a_chained_rule_waits_for_what_it_consumes_and_its_producers_do_not() -> None:
    rules = RULES + """\
- id: street-pair
  record: warning
  where: {rule: {in: [serious, dispute-then-petition]}}
  window: {within: 1d, by: [street], aggregate: count}
  levels: [{level: orange, when: {count: {gte: 2}}}]
- id: city-of-pairs
  record: warning
  where: {rule: {eq: street-pair}}
  levels: [{level: red}]
"""
    plan = plan_release(book(rules).rules, SOURCES)
    chain = plan.group_of("street-pair")
    assert chain is plan.group_of("city-of-pairs")  # connected: one takes the other's warnings
    assert chain.name == "chain:street-pair" and chain.rules == ("street-pair", "city-of-pairs")
    assert chain.consumes == ("public-safety", "mediation+xinfang") and chain.chained
    assert chain.sources == frozenset({"public-safety", "mediation", "xinfang"}) and chain.kinds == frozenset()
    assert plan.group_of("serious").single_source and plan.group_of("serious").exports
    assert plan.group_of("dispute-then-petition").exports and not plan.group_of("collective").exports
    assert plan.get("chain:street-pair") is chain
    with pytest.raises(KeyError):
        plan.group_of("nope")


def test_every_rule_is_in_exactly_one_group_in_rulebook_order(default_plan: Any) -> None:
    rulebook, plan = default_plan
    placed = [r for g in plan.groups for r in g.rules]
    assert sorted(placed) == sorted(r.id for r in rulebook.rules)
    order = [r.id for r in rulebook.rules]
    for g in plan.groups:
        assert list(g.rules) == sorted(g.rules, key=order.index)


def test_the_default_rulebook_releases_a_serious_incident_at_once(default_plan: Any) -> None:
    _, plan = default_plan
    assert plan.group_of("serious-incident").sources == frozenset({"public-safety"})
    assert plan.group_of("serious-incident").single_source
    assert plan.group_of("repeat-petitioner").sources == frozenset({"xinfang"})
    assert plan.group_of("unresolved-dispute-then-petition").sources == frozenset({"mediation", "xinfang"})
    care = frozenset({"civil-affairs-due", "civil-affairs-visit", "register"})
    assert plan.group_of("care-visit-missed").sources == care
    # The cluster rules take the warnings of nearly every rule (grid reports' among them): every source.
    clusters = plan.group_of("district-cluster")
    assert clusters is plan.group_of("street-cluster") and clusters.sources is None
    assert "public-safety" in clusters.consumes and "xinfang" in clusters.consumes


def test_the_global_release_is_one_group() -> None:
    rules = book(RULES).rules
    (only,) = single_group(rules).groups
    assert only.name == ANY_SOURCE and only.sources is None and only.rules == tuple(r.id for r in rules)
    assert "grid_report" in only.kinds and single_group(()).groups[0].rules == ()
