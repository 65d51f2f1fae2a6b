"""Conditions evaluated in plain Python over a record's fields (the reference semantics).

docs/rules-language.md#conditions: every term of a :class:`~rules.language.model.Condition` must hold; ``any`` holds
when one option does; ``not`` negates. A comparison on an absent field (missing or ``None``) never holds —
``ne`` and ``not_in`` included; ``exists: false`` is the way to ask for absence. ``matches`` is a whole-string
match by RE2 (:func:`rules.language.regex.compile_regex`: linear time, never a backtracking hang);
``contains`` holds for a list holding the value; values that do not compare
(a string against a number) do not hold. Timestamps compare as aware datetimes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rules.language.model import AnyOf, Condition, FieldTest, NotOf, Op
from rules.language.regex import compile_regex

__all__ = ["evaluate", "evaluate_leaves", "holds", "referenced_fields"]


def holds(test: FieldTest, fields: Mapping[str, Any]) -> bool:
    """Whether one field test holds over ``fields``."""
    value = fields.get(test.field)
    op = test.op
    if op is Op.exists:
        return (value is not None) is bool(test.value)
    if value is None:
        return False
    want = test.value
    try:
        if op is Op.eq:
            return bool(value == want)
        if op is Op.ne:
            return bool(value != want)
        if op is Op.gt:
            return bool(value > want)
        if op is Op.gte:
            return bool(value >= want)
        if op is Op.lt:
            return bool(value < want)
        if op is Op.lte:
            return bool(value <= want)
    except TypeError:
        return False
    if op is Op.in_:
        return any(value == w for w in want)
    if op is Op.not_in:
        return all(value != w for w in want)
    if op is Op.contains:
        return isinstance(value, (list, tuple)) and any(v == want for v in value)
    if op is Op.matches:
        return isinstance(value, str) and compile_regex(str(want)).fullmatch(value) is not None
    raise ValueError(f"unknown operator {op!r}")  # pragma: no cover - the loader rejects it


def evaluate(condition: Condition | None, fields: Mapping[str, Any]) -> bool:
    """Whether ``condition`` holds over ``fields`` (``None`` and the empty condition always hold)."""
    if condition is None:
        return True
    for term in condition.terms:
        if isinstance(term, FieldTest):
            if not holds(term, fields):
                return False
        elif isinstance(term, AnyOf):
            if not any(evaluate(option, fields) for option in term.options):
                return False
        elif isinstance(term, NotOf) and evaluate(term.condition, fields):
            return False
    return True


def evaluate_leaves(condition: Condition | None, truth: Callable[[FieldTest], bool]) -> bool:
    """Evaluate the boolean structure of ``condition`` with each leaf's truth given by ``truth``."""
    if condition is None:
        return True
    for term in condition.terms:
        if isinstance(term, FieldTest):
            if not truth(term):
                return False
        elif isinstance(term, AnyOf):
            if not any(evaluate_leaves(option, truth) for option in term.options):
                return False
        elif isinstance(term, NotOf) and evaluate_leaves(term.condition, truth):
            return False
    return True


def referenced_fields(condition: Condition | None) -> set[str]:
    """Names of the fields a condition reads."""
    return set() if condition is None else {t.field for t in condition.walk()}
