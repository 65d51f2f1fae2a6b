"""Inhibition in the domain: source rule, target patterns, subtree and level; the oldest source wins."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.escalation import EscalationPolicy
from domain.inhibition import Inhibition, OpenSource, inhibitor

RULE = Inhibition(source="district-cluster", targets=("street-cluster", "*petition*"), max_level="yellow")


def test_holds_targets_in_the_subtree_at_or_below_the_level() -> None:
    def holds(rule: str = "street-cluster", region: str = "510104001000", level: str = "yellow") -> bool:
        return RULE.holds(source_rule="district-cluster", source_region="510104000000", rule=rule, region=region,
                          level=level)

    assert holds() and holds(rule="collective-petition", level="blue")
    assert not holds(level="orange") and not holds(region="510105001000") and not holds(rule="serious-incident")
    assert not RULE.holds(source_rule="street-cluster", source_region="510104000000", rule="street-cluster",
                          region="510104001000", level="blue")


def test_the_oldest_open_source_inhibits() -> None:
    sources = [OpenSource(9, "district-cluster", "510104000000"), OpenSource(3, "district-cluster", "510104000000"),
               OpenSource(1, "district-cluster", "510105000000")]
    found = inhibitor([RULE], sources, rule="street-cluster", region="510104001000", level="blue")
    assert found is not None and found.id == 3
    assert inhibitor([], sources, rule="street-cluster", region="510104001000", level="blue") is None


def test_declared_in_the_policy_and_checked() -> None:
    policy = EscalationPolicy.model_validate({"inhibitions": [{"source": "x", "targets": ["y"]}]})
    assert policy.inhibitions[0].max_level == "orange"
    with pytest.raises(ValidationError):
        EscalationPolicy.model_validate({"inhibitions": [{"source": "x", "targets": []}]})
    with pytest.raises(ValidationError):
        EscalationPolicy.model_validate({"inhibitions": [{"source": "x", "targets": ["y"], "level": "red"}]})


def test_min_level_and_enabled() -> None:
    ranged = Inhibition(source="s", targets=("t",), min_level="yellow", max_level="orange")

    def holds(i: Inhibition, level: str) -> bool:
        return i.holds(source_rule="s", source_region="510104000000", rule="t", region="510104001000",
                       level=level)

    assert [holds(ranged, lv) for lv in ("blue", "yellow", "orange", "red")] == [False, True, True, False]
    off = ranged.model_copy(update={"enabled": False})
    assert not holds(off, "yellow") and off.names("t")
    assert inhibitor([off], [OpenSource(1, "s", "510104000000")], rule="t", region="510104001000",
                     level="yellow") is None
    with pytest.raises(ValidationError):
        Inhibition(source="s", targets=("t",), min_level="red", max_level="orange")
