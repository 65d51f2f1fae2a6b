"""Default inhibitions derived from the rulebook: a cluster rule inhibits the rules it takes, at the levels
it takes and none above its own lowest level; sequences over warnings and non-warning rules get none."""

from __future__ import annotations

from pathlib import Path

from domain.escalation import EscalationPolicy
from domain.inhibition import Inhibition
from domain.warnings import Level
from rules.language.inhibitions import default_inhibitions
from rules.language.loader import load_rulebook
from rules.language.model import RuleFile
from rules.language.yaml_safe import load_yaml

REPO = Path(__file__).resolve().parents[2]
BOOK = """
ruleset: c
rules:
  - id: petition
    record: petition
    levels: [{level: blue}, {level: yellow, when: {people: {gte: 5}}}, {level: red, when: {people: {gte: 50}}}]
  - {id: incident, record: incident, level: orange}
  - {id: blue-only, record: petition, level: blue}
  - id: street
    record: warning
    where: {rule: {not_in: [street, district]}, level: {in: [yellow, orange, red]}}
    window: {within: 7d, by: [street], aggregate: count}
    levels: [{level: orange, when: {count: {gte: 3}}}]
  - id: district
    record: warning
    where: {rule: {ne: district}, level: {in: [orange, red]}}
    window: {within: 7d, by: [district], aggregate: count}
    levels: [{level: orange, when: {count: {gte: 3}}}, {level: red, when: {count: {gte: 6}}}]
  - id: then
    sequence: [{record: warning, where: {rule: {eq: incident}}}, {record: petition}]
    join: [region]
    within: 1d
    level: red
"""


def _derived() -> dict[tuple[str, str], tuple[Level, Level]]:
    rules = RuleFile.model_validate(load_yaml(BOOK)).rules
    out = {}
    for i in default_inhibitions(rules):
        for target in i.targets:
            assert (i.source, target) not in out
            out[(i.source, target)] = (i.min_level, i.max_level)
    return out


def test_a_cluster_inhibits_what_it_takes_up_to_its_own_lowest_level() -> None:
    assert _derived() == {
        # street takes yellow and above, is itself orange: holds yellow and orange, never a red petition
        ("street", "petition"): (Level.yellow, Level.yellow),
        ("street", "incident"): (Level.orange, Level.orange),
        # district takes orange and red, the street cluster included; at orange it holds only orange
        ("district", "incident"): (Level.orange, Level.orange),
        ("district", "street"): (Level.orange, Level.orange),
    }


def test_the_inhibitions_derived_hold_as_the_rule_takes() -> None:
    rules = RuleFile.model_validate(load_yaml(BOOK)).rules
    policy = EscalationPolicy().with_default_inhibitions(default_inhibitions(rules))

    def held(rule: str, level: str, source: str = "street", region: str = "510104001001") -> bool:
        return any(i.holds(source_rule=source, source_region="510104001000", rule=rule, region=region,
                           level=level) for i in policy.inhibitions)

    assert held("petition", "yellow") and held("incident", "orange")
    assert not held("petition", "blue")  # the cluster does not take blue: notified as before
    assert not held("petition", "red") and not held("blue-only", "blue") and not held("then", "red")
    assert not held("petition", "yellow", region="510105001001")  # outside the street
    assert not held("street", "orange")  # a cluster never holds itself


def test_the_shipped_clusters_inhibit_their_streets_and_never_each_other_both_ways() -> None:
    book = load_rulebook([REPO / "rules" / "catalog"])
    derived = default_inhibitions(book.rules)
    street = {t for i in derived if i.source == "street-cluster" for t in i.targets}
    district = {t for i in derived if i.source == "district-cluster" for t in i.targets}
    assert {"collective-petition", "hotline-complaint-spike", "serious-incident"} <= street
    assert "street-cluster" in district and "district-cluster" not in street | district
    assert "street-cluster" not in street and {i.source for i in derived} == {"street-cluster", "district-cluster"}


def test_a_declared_inhibition_for_the_same_pair_wins_and_can_switch_a_default_off() -> None:
    default = (Inhibition(source="district-cluster", targets=("street-cluster", "serious-incident"),
                          min_level="orange", max_level="orange"),)
    declared = EscalationPolicy.model_validate({"inhibitions": [
        {"source": "district-cluster", "targets": ["street-*"], "max_level": "red"},
        {"source": "street-cluster", "targets": ["*"], "enabled": False}]})
    street = Inhibition(source="street-cluster", targets=("collective-petition",))
    merged = declared.with_default_inhibitions((*default, street))
    assert merged.inhibitions == (*declared.inhibitions, Inhibition(
        source="district-cluster", targets=("serious-incident",), min_level="orange", max_level="orange"))
    assert merged.with_default_inhibitions(default).inhibitions == merged.inhibitions  # idempotent
    # switched off: holds nothing
    assert not any(i.holds(source_rule="street-cluster", source_region="510104001000", rule="collective-petition",
                           region="510104001001", level="yellow") for i in merged.inhibitions)
    # the declared one holds red street clusters; the default would not have
    assert any(i.holds(source_rule="district-cluster", source_region="510104000000", rule="street-cluster",
                       region="510104001000", level="red") for i in merged.inhibitions)
