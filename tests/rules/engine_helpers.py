"""Helpers for the engine tests: build a rulebook from YAML text in memory and records tersely."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from domain.kinds import RecordKinds
from domain.records import Record
from rules.language.calendars import Calendars
from rules.language.model import Rule, RuleFile

REPO = Path(__file__).resolve().parents[2]
KINDS = RecordKinds.load(REPO / "rules" / "kinds.yaml")
CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=CST)
REGION = "510104001001"
CHAIN_RULE: dict[str, Any] = {
    "id": "chain", "record": "warning", "where": {"rule": {"ne": "chain"}},
    "window": {"within": "1d", "by": ["street"], "aggregate": "count"},
    "levels": [{"level": "orange", "when": {"count": {"gte": 2}}}]}
"""A chained rule the property tests add: two warnings of other rules in a street within a day."""


@dataclass(frozen=True)
class Book:
    """A rulebook as the engines see it."""

    rules: tuple[Rule, ...]
    version: str = "test-version"
    calendars: Calendars | None = field(default_factory=Calendars)


def book(rules_yaml: str, calendars: dict[str, Any] | None = None) -> Book:
    """A rulebook from the ``rules:`` list of a rule file, as YAML text."""
    data = {"ruleset": "t", "rules": yaml.safe_load(textwrap.dedent(rules_yaml))}
    rf = RuleFile.model_validate(data, context={"file": "t.yaml", "kinds": KINDS})
    return Book(rf.rules, calendars=Calendars.from_mapping(calendars) if calendars else Calendars())


_n = [0]


def rec(kind: str, minutes: float = 0, region: str = REGION, id: str | None = None, source: str = "test",
        **attributes: Any) -> Record:
    """A record ``minutes`` after T0."""
    _n[0] += 1
    return Record(kind=kind, source=source, id=id or f"r{_n[0]:06d}", at=T0 + timedelta(minutes=minutes),
                  region=region, attributes=attributes)
