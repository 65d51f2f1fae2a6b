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

from domain.messages import N_, Message
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
        raise LanguageError(Message(N_("时间须带时刻和时区，例如 '{raw}T00:00:00+08:00'"), raw=raw), line)
    else:
        try:
            value = datetime.fromisoformat(str(raw))
        except ValueError:
            raise LanguageError(Message(N_("{raw} 不是 ISO-8601 时间"), raw=repr(raw)), line) from None
    if value.tzinfo is None:
        raise LanguageError(Message(N_("时间 {raw} 须带时区，例如 +08:00"), raw=str(raw)), line)
    return value


def _check_value(op: Op, value: Any, line: int) -> None:
    """Reject values an operator cannot use (a list for ``eq``, a number for ``matches``…)."""
    if op in (Op.in_, Op.not_in):
        if not isinstance(value, list) or any(isinstance(v, (list, dict)) for v in value):
            raise LanguageError(Message(N_("'{op}' 须为值的列表，例如 [a, b]"), op=op.value), line)
    elif op is Op.exists:
        if not isinstance(value, bool):
            raise LanguageError(Message(N_("'exists' 须为 true 或 false")), line)
    elif op is Op.matches:
        if not isinstance(value, str):
            raise LanguageError(Message(N_("'matches' 须为正则表达式文本")), line)
    elif op in ORDERED_OPS:
        if isinstance(value, bool) or not isinstance(value, (int, float, datetime)):
            raise LanguageError(Message(N_("'{op}' 只能与数值或时间比较，得到 {value}"),
                                        op=op.value, value=repr(value)), line)
    elif isinstance(value, (list, dict)) or value is None:
        raise LanguageError(Message(N_("'{op}' 须为单个值，得到 {value}"), op=op.value, value=repr(value)), line)


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
        raise LanguageError(Message(N_("条件是字段到运算符的映射，得到 {raw}"), raw=repr(raw)), here)
    terms: list[Term] = []
    for key, spec in raw.items():
        kline = key_line(raw, key, here)
        if not isinstance(key, str):
            raise LanguageError(Message(N_("条件的键须为字段名，得到 {key}"), key=repr(key)), kline)
        if key in ("any", "not") and depth >= MAX_NESTING:
            raise LanguageError(Message(N_("'any' 和 'not' 嵌套超过 {limit} 层；请简化条件"), limit=MAX_NESTING), kline)
        if key == "any":
            if not isinstance(spec, list) or not spec:
                raise LanguageError(Message(N_("'any' 须为非空的条件列表")), kline)
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
        msg = Message(N_("字段 '{field}' 须为运算符映射，例如 {{eq: {spec}}}；运算符：{ops}"), field=field,
                      spec=repr(spec), ops=ops)
        raise LanguageError(msg, line)
    out: list[FieldTest] = []
    for op_name, value in spec.items():
        oline = key_line(spec, op_name, line)
        if op_name not in OPERATORS:
            near = difflib.get_close_matches(str(op_name), OPERATORS, n=1)
            hint = (Message(N_("；是否应为 '{name}'？"), name=near[0]) if near
                    else Message(N_("；运算符：{ops}"), ops=", ".join(OPERATORS)))
            raise LanguageError(Message(N_("未知的运算符 '{op}'{hint}"), op=op_name, hint=hint), oline)
        op = Op(op_name)
        if field in timestamp_fields and op not in (Op.exists, Op.in_, Op.not_in):
            value = _parse_timestamp(value, file, oline)
        elif field in timestamp_fields and op in (Op.in_, Op.not_in) and isinstance(value, list):
            value = [_parse_timestamp(v, file, oline) for v in value]
        _check_value(op, value, oline)
        out.append(FieldTest(field=field, op=op, value=value, file=file, line=oline))
    return out
