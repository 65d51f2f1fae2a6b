"""Chaining: which rules can take which rules' warnings, and the rejection of cycles.

docs/rules-language.md#chaining: rule R can take rule Q's warnings unless a condition on ``rule`` excludes Q, or a
condition on ``level`` excludes every level Q can emit. "Excludes" is decided conservatively from the terms of a
step's ``where`` that must all hold (its top-level conjunction): a test inside ``any``/``not`` never
excludes, so an unclear case counts as a possible edge and a cycle is reported rather than missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.warnings import Level
from rules.language.conditions_ast import FieldTest, Op
from rules.language.model import Rule, Step
from rules.language.regex import RegexError, compile_regex

WARNING_KIND = "warning"


def _excludes(test: FieldTest, value: str) -> bool:
    """True if ``test`` on a field can never hold when the field equals ``value``."""
    v: Any = test.value
    if test.op is Op.eq:
        return bool(v != value)
    if test.op is Op.ne:
        return bool(v == value)
    if test.op is Op.in_:
        return value not in v
    if test.op is Op.not_in:
        return value in v
    if test.op is Op.exists:
        return v is False  # the field is always present on a warning
    if test.op is Op.matches:
        try:
            return compile_regex(str(v)).fullmatch(value) is None
        except RegexError:
            return False
    return False  # ordering and contains say nothing certain about a string


def taken_levels(step: Step, producer: Rule) -> frozenset[Level]:
    """The levels of ``producer``'s warnings that ``step`` (a step watching warnings) could take; empty if
    it takes none (it watches other records, or its ``where`` excludes the rule or every level)."""
    if step.record != WARNING_KIND:
        return frozenset()
    tests = [t for t in step.where.terms if isinstance(t, FieldTest)]
    if any(t.field == "rule" and _excludes(t, producer.id) for t in tests):
        return frozenset()
    levels: set[Level] = set(producer.emits)
    for t in tests:
        if t.field == "level":
            levels = {lv for lv in levels if not _excludes(t, lv.value)}
    return frozenset(levels)


def step_takes(step: Step, producer: Rule) -> bool:
    """Could ``step`` (a step watching warnings) take a warning of ``producer``?"""
    return bool(taken_levels(step, producer))


def consumers(rules: Sequence[Rule]) -> dict[str, list[str]]:
    """Edges of the chaining graph: producer id → ids of rules that can take its warnings."""
    graph: dict[str, list[str]] = {r.id: [] for r in rules}
    for consumer in rules:
        for producer in rules:
            if any(step_takes(step, producer) for step in consumer.steps):
                graph[producer.id].append(consumer.id)
    return graph


def find_cycles(rules: Sequence[Rule]) -> list[list[str]]:
    """Every strongly connected group of rules that feed each other (a self-loop counts), each as the
    ids in a path order starting from the smallest id. Tarjan's algorithm, recursive: rulebooks are
    small (hundreds of rules), so recursion depth is no concern."""
    graph = consumers(rules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        """Tarjan's step: number ``node``, follow its edges, pop a component when it is a root."""
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.append(_cycle_order(sorted(group), graph))
    for rule_id in sorted(graph):
        if rule_id not in index:
            visit(rule_id)
    return sorted(groups)


def _cycle_order(members: list[str], graph: dict[str, list[str]]) -> list[str]:
    """A path through the group from its smallest id back to it, for a readable message."""
    start, inside = members[0], set(members)
    path, seen = [start], {start}
    node = start
    while True:
        nxt = next((n for n in sorted(graph[node]) if n in inside and n not in seen), None)
        if nxt is None:
            break
        path.append(nxt)
        seen.add(nxt)
        node = nxt
    return path
