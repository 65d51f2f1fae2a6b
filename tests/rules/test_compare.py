"""Comparing two rulebooks on the same records (language 1.1): differences matched by fingerprint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rules.language.loader import load_rulebook
from rules.run.backtest import backtest
from rules.run.compare import compare_rows
from rules.run.testing import record_from_dict
from tests.rules.conftest import RULEBOOK

Write = Callable[[str, str], Path]


def _row(rule: str, fp: str, level: str, occ: int, region: str = "510104001000") -> dict[str, Any]:
    return {"rule": rule, "fingerprint": fp, "region": region, "level": level, "occurrences": occ,
            "first_at": "", "last_at": "", "explanation": ""}


def test_added_removed_changed_with_exactly_the_contract_keys() -> None:
    old = [_row("a", "f1", "yellow", 2), _row("a", "f2", "blue", 1), _row("b", "f3", "red", 1)]
    new = [_row("a", "f1", "orange", 2), _row("a", "f2", "blue", 1), _row("c", "f4", "blue", 3)]
    assert compare_rows(new, old) == [
        {"change": "changed", "rule": "a", "fingerprint": "f1", "region": "510104001000",
         "level": "orange", "old_level": "yellow", "occurrences": 2, "old_occurrences": 2},
        {"change": "added", "rule": "c", "fingerprint": "f4", "region": "510104001000",
         "level": "blue", "occurrences": 3},
        {"change": "removed", "rule": "b", "fingerprint": "f3", "region": "510104001000",
         "old_level": "red", "old_occurrences": 1},
    ]


def test_occurrences_alone_make_a_change() -> None:
    (diff,) = compare_rows([_row("a", "f", "blue", 3)], [_row("a", "f", "blue", 2)])
    assert (diff["change"], diff["occurrences"], diff["old_occurrences"]) == ("changed", 3, 2)


def test_nothing_differs_is_empty() -> None:
    rows = [_row("a", "f", "blue", 1)]
    assert compare_rows(rows, rows) == []


RULE = """
ruleset: p
rules:
  - id: big
    record: petition
    where: {people: {gte: 5}}
    levels:
      - {level: yellow}
      - {level: orange, when: {people: {gte: THRESHOLD}}}
    group_by: [street]
"""


def test_the_same_warning_matches_across_rulebook_versions(write: Write, tmp_path: Path) -> None:
    # The rulebook's content (and so its version) changes; the fingerprint is the rule id and the street.
    new = load_rulebook(write("new/p.yaml", RULE.replace("THRESHOLD", "50")), rulebook=RULEBOOK)
    old = load_rulebook(write("old/p.yaml", RULE.replace("THRESHOLD", "100")), rulebook=RULEBOOK)
    assert new.version != old.version
    records = [record_from_dict({"kind": "petition", "at": "2026-01-05T09:00:00+08:00", "region": "510104001001",
                                 "people": p}, i, new.kinds) for i, p in enumerate([5, 60])]
    (diff,) = compare_rows(backtest(new, records), backtest(old, records))
    assert (diff["change"], diff["level"], diff["old_level"], diff["region"]) == (
        "changed", "orange", "yellow", "510104001000")
