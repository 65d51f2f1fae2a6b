"""What a firing reports as tested: the fields of its step's conditions and of its level's ``when``."""

from __future__ import annotations

from rules.engine import explain
from tests.rules.engine_helpers import book

RULE = """
- id: r
  record: petition
  where: {people: {gte: 5}}
  levels:
    - {level: yellow, when: {subject: {eq: 征地}}}
    - {level: red, when: {people: {gte: 300}}}
"""
FIELDS = {"people": 400, "subject": "征地", "at": "never reported", "street": "510104001"}


def test_each_level_reports_its_own_fields_and_each_rule_its_own() -> None:
    (rule,) = book(RULE).rules
    # asked twice each: the second answer is the remembered one
    for _ in range(2):
        assert explain.tested(rule, 0, FIELDS) == {"people": 400, "subject": "征地"}
        assert explain.tested(rule, 1, FIELDS) == {"people": 400}
    (other,) = book(RULE.replace("people: {gte: 5}", "street: {eq: '510104001'}")).rules
    assert explain.tested(other, 1, FIELDS) == {"street": "510104001", "people": 400}
    assert explain.tested(rule, 1, {"subject": "征地"}) == {}  # a field the record lacks is not reported
