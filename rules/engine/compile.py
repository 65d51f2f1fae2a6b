"""Compile rule-language conditions into durable_rules rulesets (the JSON form of its C engine).

One durable ruleset holds every *check* that tests records of one kind: a check is a rule's ``where``
(of a step), or ``where`` AND one level's ``when``. Records are asserted as *facts*, so every durable
rule sees each one (a posted event would be consumed by the first rule that matches it); each matching
durable rule queues an action naming the fact, and the facts are retracted after.

The language's semantics are kept exactly:

- an absent field satisfies no comparison: ``ne`` compiles to ``field exists AND $neq``, ``not_in`` to
  ``exists AND $neq…``; ``not`` is pushed down to the leaves (De Morgan), where ``not (f > 5)`` becomes
  ``f absent OR f <= 5``;
- ``contains`` is ``$iany``; its negation ``$iall … $neq`` with an empty list posted as ``[SENTINEL]``
  (``$iall`` does not hold on an empty list);
- ``matches`` is ``$mt`` (whole string) on :func:`rules.language.regex.translate_regex`'s dialect;
- timestamps are posted and compared as epoch seconds.

durable_rules has no negated regex, so a check with ``not … matches`` is compiled as one durable rule
per leaf (a *probe*), and its boolean structure is combined over the probes' results. The same way, a
``matches`` whose pattern durable_rules cannot be trusted with (:func:`rules.language.regex.python_only`, or
refused by its automaton compiler: :func:`rules.language.regex_engine.engine_refusals`) is a leaf evaluated in
Python (:func:`rules.engine.conditions.holds`, as the reference engine does), with no durable rule at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rules.engine.conditions import evaluate_leaves, holds, referenced_fields
from rules.language.model import AnyOf, Condition, FieldTest, NotOf, Op
from rules.language.regex import python_only, translate_regex
from rules.language.regex_engine import engine_refusals

__all__ = ["SENTINEL", "CompiledKind", "compile_kind", "expression", "message_value", "posted_name"]

SENTINEL = "\u0000empty"
"""Posted in place of an empty list, so that ``$iall`` (not contains) holds on it."""

TRUE: dict[str, Any] = {"$ex": {"kind": 1}}
FALSE: dict[str, Any] = {"$nex": {"kind": 1}}


class _NeedsProbe(Exception):
    """A negated ``matches``, or one evaluated in Python: durable_rules cannot say it in one expression."""


_STANDINS = str.maketrans({'"': "\ue000", "\\": "\ue001"})
"""durable_rules matches regular expressions on a string's JSON-escaped text, where ``"`` and ``\\`` take
two characters: they are posted (and compared) as one private-use character each instead."""


def _text(value: str) -> str:
    return value.translate(_STANDINS) if '"' in value or "\\" in value else value


def message_value(value: Any) -> Any:
    """A field value as posted to durable_rules: datetimes as epoch seconds, ``[]`` as ``[SENTINEL]``,
    ``"`` and ``\\`` in text as stand-ins."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (list, tuple)):
        return [message_value(v) for v in value] if value else [SENTINEL]
    return value


_v = message_value


def _pattern(pattern: str) -> str:
    """durable_rules' form of a pattern, with the stand-ins for literal ``"`` and ``\\``."""
    return translate_regex(_standin(pattern))


def _standin(pattern: str) -> str:
    """The pattern (checked as written) with the stand-ins for literal ``"`` and ``\\``."""
    translate_regex(pattern)
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append("\ue001" if pattern[i + 1] == "\\" else pattern[i : i + 2])
            i += 2
            continue
        out.append("\ue000" if ch == '"' else ch)
        i += 1
    return "".join(out)


def in_python(test: FieldTest) -> bool:
    """Whether ``test`` is a ``matches`` that durable_rules cannot be trusted with, so that it is
    evaluated in Python: :func:`rules.language.regex.python_only` (as written, or with the stand-ins), or refused
    by durable_rules' automaton compiler (asked in a child process, once per pattern)."""
    if test.op is not Op.matches:
        return False
    pattern = str(test.value)
    standin = _standin(pattern)
    if python_only(pattern) is not None or python_only(standin) is not None:
        return True
    translated = translate_regex(standin)
    return bool(engine_refusals([translated]))


def ask_engine(conditions: Iterable[Condition]) -> None:
    """Ask durable_rules about every trusted ``matches`` pattern of ``conditions`` in one child process,
    so that :func:`in_python` finds its answers cached (one process per pattern would be slow)."""
    patterns = {str(t.value) for c in conditions for t in c.walk() if t.op is Op.matches}
    translated = []
    for pattern in patterns:
        standin = _standin(pattern)
        if python_only(pattern) is None and python_only(standin) is None:
            translated.append(translate_regex(standin))
    if translated:
        engine_refusals(translated)


def _all(parts: list[dict[str, Any]]) -> dict[str, Any]:
    if any(p is FALSE for p in parts):
        return FALSE
    parts = [p for p in parts if p is not TRUE]
    if not parts:
        return TRUE
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _any(parts: list[dict[str, Any]]) -> dict[str, Any]:
    if any(p is TRUE for p in parts):
        return TRUE
    parts = [p for p in parts if p is not FALSE]
    if not parts:
        return FALSE
    return parts[0] if len(parts) == 1 else {"$or": parts}


_RENAMED = {"id": "fh_record_id", "sid": "fh_record_sid"}
"""Field names durable_rules keeps for itself (a fact's identity and its state)."""


def posted_name(name: str) -> str:
    """The name a field is posted under (``id`` and ``sid`` are durable_rules' own)."""
    return _RENAMED.get(name, name)


def _leaf(test: FieldTest, negate: bool) -> dict[str, Any]:
    f, op, v = posted_name(test.field), test.op, test.value
    ex: dict[str, Any] = {"$ex": {f: 1}}
    nex: dict[str, Any] = {"$nex": {f: 1}}
    if op is Op.exists:
        return ex if bool(v) != negate else nex
    if op in (Op.eq, Op.ne):
        eq: dict[str, Any] = {f: _v(v)}
        neq: dict[str, Any] = {"$neq": {f: _v(v)}}
        if op is Op.eq:
            return _any([nex, neq]) if negate else eq
        return _any([nex, eq]) if negate else _all([ex, neq])
    if op in (Op.gt, Op.gte, Op.lt, Op.lte):
        flip = {Op.gt: "$lte", Op.gte: "$lt", Op.lt: "$gte", Op.lte: "$gt"}[op]
        return _any([nex, {flip: {f: _v(v)}}]) if negate else {"$" + op.value: {f: _v(v)}}
    if op in (Op.in_, Op.not_in):
        eqs: list[dict[str, Any]] = [{f: _v(x)} for x in v]
        neqs: list[dict[str, Any]] = [{"$neq": {f: _v(x)}} for x in v]
        if (op is Op.in_) != negate:  # in, or not (not_in): present and one of them
            return _any(eqs) if op is Op.in_ else _any([nex, *eqs])
        return _any([nex, _all([ex, *neqs])]) if negate else _all([ex, *neqs])
    if op is Op.contains:
        if negate:
            return _any([nex, {"$iall": {f: {"$neq": {"$i": _v(v)}}}}])
        return {"$iany": {f: {"$i": _v(v)}}}
    if op is Op.matches:
        if negate or in_python(test):
            raise _NeedsProbe(f)
        return {"$mt": {f: _pattern(str(v))}}
    raise ValueError(f"unknown operator {op!r}")  # pragma: no cover


def expression(condition: Condition, negate: bool = False) -> dict[str, Any]:
    """The durable_rules expression of ``condition`` (or of its negation). Raises ``ValueError`` for a
    negated ``matches`` or one evaluated in Python (:func:`in_python`): they have no durable_rules form."""
    try:
        return _expression(condition, negate)
    except _NeedsProbe as exc:
        raise ValueError(f"{exc.args[0]} matches … (negated or in Python) has no durable_rules expression") from None


def _expression(condition: Condition, negate: bool) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for term in condition.terms:
        if isinstance(term, FieldTest):
            parts.append(_leaf(term, negate))
        elif isinstance(term, AnyOf):
            options = [_expression(o, negate) for o in term.options]
            parts.append(_all(options) if negate else _any(options))
        elif isinstance(term, NotOf):
            parts.append(_expression(term.condition, not negate))
    return _any(parts) if negate else _all(parts)


@dataclass
class CompiledKind:
    """The durable ruleset of one record kind and how its durable rules map back to checks."""

    kind: str
    definition: dict[str, Any] = field(default_factory=dict)
    fields: tuple[str, ...] = ()
    direct: dict[str, int] = field(default_factory=dict)
    """durable rule name → check id, for checks compiled to one expression."""
    probes: dict[int, tuple[Condition, dict[int, str]]] = field(default_factory=dict)
    """check id → (its condition, ``id(leaf)`` → durable rule name), for probe-compiled checks."""
    always: frozenset[int] = frozenset()
    """Checks with no condition at all: they hold for every record of the kind, nothing to test."""
    python: frozenset[int] = frozenset()
    """``id(leaf)`` of the probe leaves evaluated in Python (:func:`in_python`): when there are any,
    :meth:`checks_of` needs each fact's fields."""

    _posted: tuple[tuple[str, str], ...] = field(default=(), init=False, repr=False, compare=False)
    _unmatched: frozenset[int] | None = field(default=None, init=False, repr=False, compare=False)

    def message(self, fields: Mapping[str, Any], mid: int) -> dict[str, Any]:
        """The fact to post for a record (or aggregate) with these fields: only the fields tested."""
        posted = self._posted
        if len(posted) != len(self.fields):
            posted = self._posted = tuple((name, posted_name(name)) for name in self.fields)
        out: dict[str, Any] = {"id": mid, "kind": self.kind}
        for name, as_name in posted:
            value = fields.get(name)
            if value is not None:
                kind = type(value)
                if kind is str:
                    if '"' in value or "\\" in value:
                        value = value.translate(_STANDINS)
                elif kind is not int and kind is not float:
                    value = message_value(value)
                out[as_name] = value
        return out

    def unmatched(self) -> frozenset[int]:
        """The checks that hold for a fact no durable rule matched (computed once; only when no leaf
        is evaluated in Python, see :attr:`python`)."""
        got = self._unmatched
        if got is None:
            got = self._unmatched = frozenset(self.checks_of(set()))
        return got

    def checks_of(self, matched: AbstractSet[str], fields: Mapping[str, Any] | None = None) -> set[int]:
        """The checks that hold, given the names of the durable rules that matched one fact and (when
        :attr:`python` has leaves) the fact's fields."""
        out = {self.direct[n] for n in matched if n in self.direct} | self.always
        python = self.python
        values: Mapping[str, Any] = fields if fields is not None else {}
        for check, (condition, names) in self.probes.items():

            def truth(leaf: FieldTest, names: dict[int, str] = names) -> bool:
                if id(leaf) in python:
                    return holds(leaf, values)
                return names[id(leaf)] in matched

            if evaluate_leaves(condition, truth):
                out.add(check)
        return out


def compile_kind(kind: str, checks: list[tuple[int, Condition]]) -> CompiledKind:
    """Compile the checks ``(check id, condition)`` that test records of ``kind`` into one durable
    ruleset definition."""
    ask_engine(condition for _, condition in checks)
    out = CompiledKind(kind)
    names: set[str] = {"kind"}
    always: set[int] = set()
    python: set[int] = set()
    for check, condition in checks:
        if not condition.terms:
            always.add(check)
            continue
        names |= referenced_fields(condition)
        try:
            expr = _expression(condition, False)
        except _NeedsProbe:
            leaves: dict[int, str] = {}
            for i, leaf in enumerate(condition.walk()):
                if in_python(leaf):
                    python.add(id(leaf))
                    continue
                name = f"c{check}p{i}"
                leaves[id(leaf)] = name
                out.definition[name] = {"all": [{"m": _leaf(leaf, False)}]}
            out.probes[check] = (condition, leaves)
            continue
        name = f"c{check}"
        out.definition[name] = {"all": [{"m": expr}]}
        out.direct[name] = check
    out.fields = tuple(sorted(names - {"kind"}))
    out.always = frozenset(always)
    out.python = frozenset(python)
    return out
