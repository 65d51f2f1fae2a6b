"""Condition nodes of the rule language and the parser from the YAML map form.

A condition in YAML is a map ``field -> {operator: value, ...}`` whose keys must all hold, plus the two
keys ``any: [cond, ...]`` and ``not: cond``. :func:`parse_condition` turns it into a :class:`Condition`
(a conjunction) of :class:`FieldTest`, :class:`AnyOf` and :class:`NotOf` nodes. Every node carries the
``file`` and ``line`` it came from so later checks can cite ``FILE:LINE``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Union

from pydantic import BaseModel, ConfigDict

from rules.language.positions import LanguageError, key_line, line_of


class Op(StrEnum):
    """A comparison operator of the rule language."""

    eq = "eq"
    ne = "ne"
    gt = "gt"
    gte = "gte"
    lt = "lt"
    lte = "lte"
    in_ = "in"
    not_in = "not_in"
    contains = "contains"
    matches = "matches"
    exists = "exists"


MAX_NESTING = 32
"""Deepest nesting of ``any``/``not`` in one condition: evaluation recurses per level."""

OPERATORS: tuple[str, ...] = tuple(op.value for op in Op)
"""The operator names as written in rule files."""

ORDERED_OPS = frozenset({Op.gt, Op.gte, Op.lt, Op.lte})
"""Operators that compare a number or timestamp."""


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = ""
    line: int = 0


class FieldTest(_Node):
    """``field op value``. ``value`` is a scalar, a list (``in``/``not_in``), a bool (``exists``), a
    pattern string (``matches``) or an aware ``datetime`` (a timestamp field such as ``at``)."""

    field: str
    op: Op
    value: Any = None


class AnyOf(_Node):
    """Holds when at least one of ``options`` holds (``any: [...]``)."""

    options: tuple[Condition, ...]


class NotOf(_Node):
    """Holds when ``condition`` does not (``not: {...}``)."""

    condition: Condition


Term = Union[FieldTest, AnyOf, NotOf]  # noqa: UP007 - pydantic needs a runtime union of forward refs
"""One conjunct of a :class:`Condition`."""


class Condition(_Node):
    """A conjunction: holds when every term holds. No terms: always holds."""

    terms: tuple[Term, ...] = ()

    def walk(self) -> list[FieldTest]:
        """Every :class:`FieldTest` inside, depth first (for checks that only need the leaves)."""
        out: list[FieldTest] = []
        for term in self.terms:
            if isinstance(term, FieldTest):
                out.append(term)
            elif isinstance(term, AnyOf):
                for option in term.options:
                    out.extend(option.walk())
            else:
                out.extend(term.condition.walk())
        return out


AnyOf.model_rebuild()
NotOf.model_rebuild()
Condition.model_rebuild()


def _parse_timestamp(raw: Any, file: str, line: int) -> datetime:
    """A condition value on a timestamp field, as an aware datetime."""
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        raise LanguageError(f"timestamp needs a time and a zone, e.g. '{raw}T00:00:00+08:00'", line)
    else:
        try:
            value = datetime.fromisoformat(str(raw))
        except ValueError:
            raise LanguageError(f"{raw!r} is not an ISO-8601 timestamp", line) from None
    if value.tzinfo is None:
        raise LanguageError(f"timestamp {raw!s} needs a time zone, e.g. +08:00", line)
    return value


def _check_value(op: Op, value: Any, line: int) -> None:
    """Reject values an operator cannot use (a list for ``eq``, a number for ``matches``…)."""
    if op in (Op.in_, Op.not_in):
        if not isinstance(value, list) or any(isinstance(v, (list, dict)) for v in value):
            raise LanguageError(f"'{op.value}' takes a list of values, e.g. [a, b]", line)
    elif op is Op.exists:
        if not isinstance(value, bool):
            raise LanguageError("'exists' takes true or false", line)
    elif op is Op.matches:
        if not isinstance(value, str):
            raise LanguageError("'matches' takes a regular expression string", line)
    elif op in ORDERED_OPS:
        if isinstance(value, bool) or not isinstance(value, (int, float, datetime)):
            raise LanguageError(f"'{op.value}' compares with a number or a timestamp, got {value!r}", line)
    elif isinstance(value, (list, dict)) or value is None:
        raise LanguageError(f"'{op.value}' takes a single value, got {value!r}", line)


def parse_condition(
    raw: Any,
    file: str = "",
    line: int | None = None,
    timestamp_fields: frozenset[str] = frozenset({"at"}),
    depth: int = 0,
) -> Condition:
    """Parse the YAML map form of a condition. ``line`` is where the map sits when the loader did not
    record it (hand-built input); ``depth`` is how many ``any``/``not`` enclose it. Raises
    :class:`LanguageError` with the line of the offending key."""
    here = line_of(raw, line or 0)
    if raw is None:
        return Condition(file=file, line=here)
    if isinstance(raw, Condition):
        return raw
    if not isinstance(raw, Mapping):
        raise LanguageError(f"a condition is a map of field to operators, got {raw!r}", here)
    terms: list[Term] = []
    for key, spec in raw.items():
        kline = key_line(raw, key, here)
        if not isinstance(key, str):
            raise LanguageError(f"condition keys are field names, got {key!r}", kline)
        if key in ("any", "not") and depth >= MAX_NESTING:
            raise LanguageError(f"'any' and 'not' nest more than {MAX_NESTING} levels deep; simplify the condition",
                                kline)
        if key == "any":
            if not isinstance(spec, list) or not spec:
                raise LanguageError("'any' takes a non-empty list of conditions", kline)
            options = tuple(parse_condition(c, file, kline, timestamp_fields, depth + 1) for c in spec)
            terms.append(AnyOf(options=options, file=file, line=kline))
        elif key == "not":
            terms.append(
                NotOf(condition=parse_condition(spec, file, kline, timestamp_fields, depth + 1), file=file, line=kline)
            )
        else:
            terms.extend(_parse_field(key, spec, file, kline, timestamp_fields))
    return Condition(terms=tuple(terms), file=file, line=here)


def _parse_field(
    field: str, spec: Any, file: str, line: int, timestamp_fields: frozenset[str]
) -> list[FieldTest]:
    """The tests of one ``field: {op: value, ...}`` entry (several operators mean all must hold)."""
    if not isinstance(spec, Mapping) or not spec:
        ops = ", ".join(OPERATORS)
        msg = f"field '{field}' needs an operator map such as {{eq: {spec!r}}}; operators: {ops}"
        raise LanguageError(msg, line)
    out: list[FieldTest] = []
    for op_name, value in spec.items():
        oline = key_line(spec, op_name, line)
        if op_name not in OPERATORS:
            near = difflib.get_close_matches(str(op_name), OPERATORS, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f"; operators: {', '.join(OPERATORS)}"
            raise LanguageError(f"unknown operator '{op_name}'{hint}", oline)
        op = Op(op_name)
        if field in timestamp_fields and op not in (Op.exists, Op.in_, Op.not_in):
            value = _parse_timestamp(value, file, oline)
        elif field in timestamp_fields and op in (Op.in_, Op.not_in) and isinstance(value, list):
            value = [_parse_timestamp(v, file, oline) for v in value]
        _check_value(op, value, oline)
        out.append(FieldTest(field=field, op=op, value=value, file=file, line=oline))
    return out
