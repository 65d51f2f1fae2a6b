"""Mistakes that load cleanly: the ``warning:`` lines of ``fenghuo rules check`` (language 1.1).

A rule that loads may still never do what its author meant. :func:`lint_file` finds three such mistakes
in a loaded :class:`~rules.language.model.RuleFile` and returns them as :class:`RuleError` lines whose
message starts with ``warning:``:

- ``contains`` on a field that is not a list (it never holds: a text field wants ``matches``);
- ``eq`` or ``matches`` against a value outside the field's declared ``values`` (``rules/kinds.yaml``):
  the test can never hold;
- a level that can never win, because a higher level's ``when`` holds whenever its own does.

The checks only speak when they are sure. A name they do not know (a field added by a later version of
the language, such as a baseline's ``zscore``) and a condition they cannot reason about (``any``,
``not``, a non-numeric bound) leave them silent: a false warning would teach authors to ignore them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from domain.kinds import FieldSpec, RecordKinds
from domain.messages import N_, Message
from domain.regions import TIERS
from rules.language.conditions_ast import Condition, FieldTest, Op
from rules.language.diagnostics import RuleError
from rules.language.model import LevelSpec, Rule, RuleFile

__all__ = ["lint_file", "lint_rulebook"]

_TEXT_FIELDS = frozenset({"kind", "source", "id", "region", *(t.value for t in TIERS)})
"""Fields every record has that hold text (never a list)."""

_NUMERIC = (int, float)


def lint_rulebook(files: Mapping[str, RuleFile], kinds: RecordKinds) -> list[RuleError]:
    """The warnings of every loaded rule file, sorted by file and line."""
    out: list[RuleError] = []
    for rule_file in files.values():
        out.extend(lint_file(rule_file, kinds))
    return sorted(set(out))


def lint_file(rule_file: RuleFile, kinds: RecordKinds) -> list[RuleError]:
    """The warnings of one loaded rule file."""
    out: list[RuleError] = []
    for rule in rule_file.rules:
        for line, message in _rule(rule, kinds):
            out.append(RuleError(rule_file.file or rule.file, line, Message(N_("警告：{message}"), message=message)))
    return out


def _rule(rule: Rule, kinds: RecordKinds) -> Iterator[tuple[int, str]]:
    for step in rule.steps:
        yield from _tests(step.where, _record_fields(kinds, step.record))
    if rule.window is not None:
        # A window's levels test the aggregate (a number) and the arriving record's periods; any other
        # name (a baseline's `expected`, `zscore`…) is not ours to judge.
        when_fields: dict[str, FieldSpec | None] = {
            rule.window.aggregate.name: FieldSpec(rule.window.aggregate.name, "number"),
            "periods": FieldSpec("periods", "list"),
        }
    else:
        when_fields = _record_fields(kinds, rule.firing_record)
    for spec in rule.levels:
        if spec.when is not None:
            yield from _tests(spec.when, when_fields)
    yield from _never_wins(rule.levels)


def _record_fields(kinds: RecordKinds, kind: str) -> dict[str, FieldSpec | None]:
    """The declared fields of a record kind, with the common ones; ``None`` where the type is open."""
    out: dict[str, FieldSpec | None] = {name: FieldSpec(name, "string") for name in _TEXT_FIELDS}
    out["at"] = FieldSpec("at", "timestamp")
    out["periods"] = FieldSpec("periods", "list")
    spec = kinds.kinds.get(kind)
    if spec is not None:
        out.update(spec.fields)
    return out


def _tests(cond: Condition, fields: Mapping[str, FieldSpec | None]) -> Iterator[tuple[int, str]]:
    for test in cond.walk():
        spec = fields.get(test.field)
        if spec is None:
            continue  # a name this check does not know: undecidable, say nothing
        if test.op is Op.contains and spec.type != "list":
            hint = Message(N_("；要在文本中找词，请写 {field}: {{matches: '.*{value}.*'}}"), field=test.field,
                           value=test.value) if spec.type == "string" else ""
            yield test.line, Message(N_("'{field}' 不是列表字段（{type}），'contains' 永远不成立{hint}"),
                                     field=test.field, type=spec.type, hint=hint)
        elif spec.values is not None and test.op in (Op.eq, Op.matches) and not _can_hold(test, spec.values):
            allowed = ", ".join(map(str, spec.values))
            yield test.line, Message(N_("'{field}' 的取值只有 {allowed}（rules/kinds.yaml），"
                                        "'{op}: {value}' 永远不成立"),
                                     field=test.field, allowed=allowed, op=test.op.value, value=test.value)


def _can_hold(test: FieldTest, values: tuple[Any, ...]) -> bool:
    if test.op is Op.eq:
        return test.value in values
    try:
        pattern = re.compile(str(test.value))
    except re.error:
        return True  # the loader judges the pattern itself
    return any(pattern.fullmatch(str(v)) for v in values)


# -- levels that can never win --------------------------------------------------------------------------


def _never_wins(levels: tuple[LevelSpec, ...]) -> Iterator[tuple[int, str]]:
    """A level whose ``when`` implies a strictly higher level's ``when`` never wins: the higher one does."""
    for low in levels:
        for high in levels:
            if high.level.rank > low.level.rank and _implies(low.when, high.when):
                why = Message(N_("没有条件，总是成立")) if high.when is None else Message(
                    N_("在 {level} 成立时总也成立"), level=low.level.value)
                yield low.line, Message(N_("{low} 级永远不会胜出：更高的 {high} 级（第 {line} 行）{why}，"
                                           "而成立的最高级别胜出；请检查阈值"),
                                        low=low.level.value, high=high.level.value, line=high.line, why=why)
                break


def _implies(a: Condition | None, b: Condition | None) -> bool:
    """True only when it is certain that ``b`` holds whenever ``a`` does (``None``: always holds)."""
    if b is None or not b.terms:
        return True
    if a is None:
        return False
    known = [t for t in a.terms if isinstance(t, FieldTest)]  # dropping a term of `a` only weakens it
    # `any` and `not` on the higher level: undecidable here, so not implied
    return all(isinstance(term, FieldTest) and _term_implied(term, known) for term in b.terms)


def _term_implied(want: FieldTest, have: list[FieldTest]) -> bool:
    """Whether the conjunction ``have`` guarantees the single test ``want``."""
    same = [t for t in have if t.field == want.field]
    if any(t.op is want.op and t.value == want.value for t in same):
        return True
    if want.op is Op.exists and want.value is True:
        # every comparison but `exists: false` fails on an absent field
        return any(not (t.op is Op.exists and t.value is False) for t in same)
    if want.op is Op.in_ and isinstance(want.value, list):
        return any((t.op is Op.eq and t.value in want.value)
                   or (t.op is Op.in_ and isinstance(t.value, list) and all(v in want.value for v in t.value))
                   for t in same)
    if want.op in (Op.gt, Op.gte, Op.lt, Op.lte) and _number(want.value):
        low, low_strict, high, high_strict = _bounds(same)
        w = want.value
        if want.op is Op.gte:
            return low is not None and low >= w
        if want.op is Op.gt:
            return low is not None and (low > w or (low == w and low_strict))
        if want.op is Op.lte:
            return high is not None and high <= w
        return high is not None and (high < w or (high == w and high_strict))
    return False


def _number(value: Any) -> bool:
    return isinstance(value, _NUMERIC) and not isinstance(value, bool)


def _bounds(tests: list[FieldTest]) -> tuple[float | None, bool, float | None, bool]:
    """The tightest numeric bounds ``tests`` put on one field: (low, low strict, high, high strict)."""
    low: float | None = None
    high: float | None = None
    low_strict = high_strict = False
    for t in tests:
        if not _number(t.value):
            continue
        v = float(t.value)
        if t.op in (Op.gte, Op.gt, Op.eq) and (low is None or v > low or (v == low and t.op is Op.gt)):
            low, low_strict = v, t.op is Op.gt
        if t.op in (Op.lte, Op.lt, Op.eq) and (high is None or v < high or (v == high and t.op is Op.lt)):
            high, high_strict = v, t.op is Op.lt
    return low, low_strict, high, high_strict
