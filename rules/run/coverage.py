"""Test coverage of a rulebook: per rule, the levels some test expects (``fenghuo rules test --coverage``).

Coverage is read from what the tests *expect*, not from what happened to fire: a rule is covered at a
level when some ``expect`` entry names the rule (``rule: x``) and that level. An entry that names the
rule but no level covers the rule at no particular level (shown as ``*``). An entry without ``rule``
is credited to the rule of its own file that can emit its level, when exactly one can (a file with one
rule may leave ``rule`` out). A rule that no entry expects is uncovered: ``--require-coverage`` fails
for it, and a plain ``rules test`` warns about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from domain.warnings import LEVELS
from rules.language.model import Rule

__all__ = ["ANY_LEVEL", "RuleCoverage", "coverage"]

ANY_LEVEL = "*"
"""The level recorded for an expect entry that names the rule but no level."""


@dataclass(frozen=True)
class RuleCoverage:
    """One rule's coverage: the levels some test expects of it, and the levels it can emit."""

    rule: Rule
    expected: tuple[str, ...]
    """Levels some test expects, lowest first (``*`` last: an entry naming no level)."""

    @property
    def covered(self) -> bool:
        """Some test expects a warning of this rule."""
        return bool(self.expected)

    @property
    def untested(self) -> tuple[str, ...]:
        """Levels the rule can emit that no test expects (lowest first)."""
        return tuple(lv.value for lv in LEVELS if lv in self.rule.emits and lv.value not in self.expected)

    @property
    def where(self) -> str:
        """``FILE:LINE`` of the rule's id."""
        return f"{self.rule.file}:{self.rule.lines.get('id', self.rule.line)}"

    @property
    def name(self) -> str:
        """The rule's id and, when it has one, its title: ``id（title）``."""
        return f"{self.rule.id}（{self.rule.title}）" if self.rule.title else self.rule.id


def coverage(rulebook: Any) -> list[RuleCoverage]:
    """The coverage of every rule of ``rulebook`` (a :class:`rules.language.loader.Rulebook`), in order."""
    seen: dict[str, set[str]] = {r.id: set() for r in rulebook.rules}
    for rule_file in rulebook.files.values():
        for case in rule_file.tests:
            for entry in case.expect:
                for rule_id, level in _credited(entry, rule_file.rules):
                    if rule_id in seen:
                        seen[rule_id].add(level)
    return [RuleCoverage(r, _ordered(seen[r.id])) for r in rulebook.rules]


def _credited(entry: dict[str, Any], file_rules: Iterable[Rule]) -> list[tuple[str, str]]:
    level = str(entry["level"]) if entry.get("level") is not None else ANY_LEVEL
    if entry.get("rule") is not None:
        return [(str(entry["rule"]), level)]
    can = [r for r in file_rules if level == ANY_LEVEL or level in {lv.value for lv in r.emits}]
    return [(can[0].id, level)] if len(can) == 1 else []


def _ordered(levels: set[str]) -> tuple[str, ...]:
    return tuple(lv.value for lv in LEVELS if lv.value in levels) + ((ANY_LEVEL,) if ANY_LEVEL in levels else ())
