"""Checks of one parsed rule file against the record kinds and calendars (the part pydantic cannot do).

Each check yields ``(line, message)``; the loader adds the file. What a rule may name:

- in ``where`` and a step's ``where``: the kind's own fields plus :data:`RECORD_FIELDS`;
- in a window rule's ``levels[].when``: the aggregate's name (``count``/``sum``/``distinct``) and
  ``periods``, and with a ``baseline`` also ``expected``, ``spread``, ``ratio``, ``zscore``; in other
  rules' ``levels[].when``: the fields of the record that fires;
- in ``summary``: the fields of the record that fires, plus the aggregate's name for a window rule (and
  the baseline's names when it has one);
- in ``window.by``, ``join``, ``group_by``: fields of the records concerned.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from domain.kinds import RecordKinds
from domain.regions import TIERS, RegionCodeError, validate_code
from domain.warnings import Level
from rules.language.calendars import Calendars
from rules.language.conditions_ast import Condition, FieldTest, Op
from rules.language.model import BASELINE_NAMES, Rule, RuleFile, TestCase
from rules.language.regex import RegexError, compile_regex
from rules.language.templates import TemplateError, template_fields

RECORD_FIELDS: tuple[str, ...] = (
    "kind", "source", "id", "at", "region", *(t.value for t in TIERS), "periods",
)  # fmt: skip
"""Fields every record has besides its kind's own: common fields, region tiers, calendar periods."""

Problem = tuple[int, str]


def suggest(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the nearest known name, or ``""``."""
    near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean '{near[0]}'?" if near else ""


def kind_fields(kinds: RecordKinds, kind: str) -> frozenset[str]:
    """Every field a rule may test on records of ``kind`` (empty if the kind is unknown)."""
    spec = kinds.kinds.get(kind)
    return frozenset(spec.fields) | frozenset(RECORD_FIELDS) if spec is not None else frozenset()


class FileValidator:
    """Validate one :class:`RuleFile`; call :meth:`problems`."""

    def __init__(self, rule_file: RuleFile, kinds: RecordKinds, calendars: Calendars) -> None:
        self.file = rule_file
        self.kinds = kinds
        self.calendars = calendars

    def problems(self) -> list[Problem]:
        """Every problem found, in file order."""
        out: list[Problem] = []
        seen: dict[str, int] = {}
        for rule in self.file.rules:
            if rule.id in seen:
                msg = f"duplicate rule id '{rule.id}' (first at line {seen[rule.id]})"
                out.append((rule.lines.get("id", rule.line), msg))
            seen.setdefault(rule.id, rule.lines.get("id", rule.line))
            out.extend(self._rule(rule))
        for case in self.file.tests:
            out.extend(self._test(case))
        return sorted(out, key=lambda p: p[0])

    # -- rules -------------------------------------------------------------------------------------

    def _kind(self, kind: str, line: int) -> Iterator[Problem]:
        if kind not in self.kinds.kinds:
            yield line, f"unknown record kind '{kind}'{suggest(kind, self.kinds.kinds)}"

    def _rule(self, rule: Rule) -> Iterator[Problem]:
        steps = rule.steps
        for step in steps:
            own = rule.kind in ("sequence", "absence")
            line = step.lines.get("record", step.line) if own else rule.lines.get("record", rule.line)
            yield from self._kind(step.record, line)
        if any(step.record not in self.kinds.kinds for step in steps):
            return  # fields cannot be checked against an unknown kind
        for step in steps:
            yield from self._condition(step.where, step.record, kind_fields(self.kinds, step.record))
        firing = kind_fields(self.kinds, rule.firing_record)
        yield from self._levels(rule, firing)
        if rule.window is not None:
            yield from self._window(rule, firing)
        for name in rule.join:
            for step in steps:
                if name not in kind_fields(self.kinds, step.record):
                    known = kind_fields(self.kinds, step.record)
                    msg = f"join field '{name}' is not a field of {step.record} records{suggest(name, known)}"
                    yield rule.lines.get("join", rule.line), msg
        for name in rule.group_by or ():
            if name not in firing:
                hint = suggest(name, firing)
                msg = f"group_by field '{name}' is not a field of {rule.firing_record} records{hint}"
                yield rule.lines.get("group_by", rule.line), msg
        if rule.summary is not None:
            yield from self._summary(rule, firing)

    def _levels(self, rule: Rule, firing: frozenset[str]) -> Iterator[Problem]:
        if rule.window is not None:
            agg = rule.window.aggregate.name
            allowed = frozenset({agg, "periods"})
            what = f"a window's levels test '{agg}' and 'periods'"
            if rule.baseline is not None:
                allowed |= frozenset(BASELINE_NAMES)
                what += " and its baseline's expected, spread, ratio, zscore"
        else:
            allowed, what = firing, f"{rule.firing_record} records"
        for spec in rule.levels:
            if spec.when is None:
                continue
            for test in spec.when.walk():
                if test.field in BASELINE_NAMES and test.field not in allowed:
                    yield test.line, _needs_baseline(test.field, rule)
                elif test.field not in allowed:
                    hint = suggest(test.field, allowed)
                    yield test.line, f"unknown field '{test.field}' in levels: {what}{hint}"
                else:
                    yield from self._test_value(test, rule.firing_record)

    def _window(self, rule: Rule, fields: frozenset[str]) -> Iterator[Problem]:
        assert rule.window is not None
        window, kind = rule.window, str(rule.record)
        for name in window.by:
            if name not in fields:
                yield window.lines.get("by", window.line), (
                    f"window field '{name}' is not a field of {kind} records{suggest(name, fields)}"
                )
        agg = window.aggregate
        if agg.field is not None:
            if agg.field not in fields:
                hint = suggest(agg.field, fields)
                yield agg.line, f"{agg.kind} field '{agg.field}' is not a field of {kind} records{hint}"
            elif agg.kind == "sum":
                spec = self.kinds.kinds[kind].fields.get(agg.field)
                if spec is None or spec.type not in ("int", "number"):
                    yield agg.line, f"sum needs a numeric field; '{agg.field}' is not a number"

    def _summary(self, rule: Rule, firing: frozenset[str]) -> Iterator[Problem]:
        line = rule.lines.get("summary", rule.line)
        allowed = set(firing)
        if rule.window is not None:
            allowed.add(rule.window.aggregate.name)
            if rule.baseline is not None:
                allowed.update(BASELINE_NAMES)
        try:
            names = template_fields(str(rule.summary))
        except TemplateError as exc:
            yield line, f"summary: {exc}"
            return
        for name in names:
            if name in BASELINE_NAMES and name not in allowed:
                yield line, _needs_baseline(name, rule)
            elif name not in allowed:
                yield line, f"summary names unknown field '{name}'{suggest(name, allowed)}"

    def _condition(self, cond: Condition, kind: str, allowed: frozenset[str]) -> Iterator[Problem]:
        for test in cond.walk():
            if test.field not in allowed:
                hint = suggest(test.field, allowed)
                yield test.line, f"unknown field '{test.field}' for {kind} records{hint}"
            else:
                yield from self._test_value(test, kind)

    def _test_value(self, test: FieldTest, kind: str) -> Iterator[Problem]:
        """Operator-specific checks: regexes, fixed values, period names."""
        if test.op is Op.matches:
            try:
                # The subset, compiled by RE2 as Python-side tests will be: what durable_rules cannot be
                # trusted with is evaluated there (rules.engine.compile.in_python) in linear time.
                compile_regex(str(test.value))
            except RegexError as exc:
                yield test.line, str(exc)
            return
        values: list[Any] = (
            list(test.value) if test.op in (Op.in_, Op.not_in) else [test.value]
        )
        if test.field == "periods" and test.op in (Op.contains, Op.in_, Op.not_in, Op.eq, Op.ne):
            if test.op is not Op.contains:
                yield test.line, "periods is a list of names: test it with 'contains'"
                return
            for v in values:
                if v not in self.calendars.names:
                    yield test.line, f"unknown period '{v}'{suggest(str(v), self.calendars.names)}"
            return
        spec = self.kinds.kinds[kind].fields.get(test.field) if kind in self.kinds.kinds else None
        # `eq` (and `matches`) outside the values is a warning of rules.language.lint (language 1.1)
        if spec is not None and spec.values is not None and test.op in (Op.ne, Op.in_, Op.not_in):
            for v in values:
                if v not in spec.values:
                    allowed = ", ".join(map(str, spec.values))
                    hint = suggest(str(v), map(str, spec.values)) or f"; allowed: {allowed}"
                    yield test.line, f"{test.field} is never '{v}'{hint}"

    # -- tests -------------------------------------------------------------------------------------

    def _test(self, case: TestCase) -> Iterator[Problem]:
        for i, record in enumerate(case.records):
            line = case.record_lines[i] if i < len(case.record_lines) else case.line
            missing = [k for k in ("kind", "at", "region") if k not in record]
            if missing:
                yield line, f"test '{case.name}': a record needs {', '.join(missing)}"
                continue
            kind = str(record["kind"])
            if kind not in self.kinds.kinds:
                hint = suggest(kind, self.kinds.kinds)
                yield line, f"test '{case.name}': unknown record kind '{kind}'{hint}"
                continue
            problem = _record_basics(record)
            if problem:
                yield line, f"test '{case.name}': {problem}"
                continue
            own = self.kinds.kinds[kind].fields
            for key in record:
                if key not in own and key not in ("kind", "source", "id", "at", "region"):
                    hint = suggest(str(key), [*own, "source", "id"])
                    yield line, f"test '{case.name}': {kind} records have no field '{key}'{hint}"
            try:
                self.kinds.coerce(kind, {k: v for k, v in record.items() if k in own})
            except ValueError as exc:
                yield line, f"test '{case.name}': {exc}"
        for entry in case.expect:
            level = entry.get("level")
            if level is not None and level not in LEVEL_NAMES:
                hint = suggest(str(level), LEVEL_NAMES) or "; levels are blue, yellow, orange, red"
                yield case.line, f"test '{case.name}': unknown level '{level}' in expect{hint}"


LEVEL_NAMES = tuple(level.value for level in Level)


def _needs_baseline(name: str, rule: Rule) -> str:
    """Why ``expected``/``spread``/``ratio``/``zscore`` cannot be used in a rule without a baseline."""
    if rule.window is None:
        return (f"'{name}' needs a baseline, and a baseline needs a window rule: "
                f"'{name}' is not a field of {rule.firing_record} records")
    return f"'{name}' needs a baseline: add e.g. baseline: {{samples: 8, every: 7d}} to rule '{rule.id}'"


def _record_basics(record: dict[str, Any]) -> str | None:
    """Why a test record's ``at`` or ``region`` is unusable, or ``None``."""
    at = record["at"]
    try:
        when = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    except ValueError:
        return f"'at' is not an ISO-8601 timestamp: {at!r}"
    if when.tzinfo is None:
        return f"'at' needs a time zone, e.g. +08:00: {at!r}"
    try:
        validate_code(str(record["region"]))
    except RegionCodeError as exc:
        return str(exc)
    return None


def validate_file(rule_file: RuleFile, kinds: RecordKinds, calendars: Calendars) -> list[Problem]:
    """Problems of one rule file as ``(line, message)``, sorted by line."""
    return FileValidator(rule_file, kinds, calendars).problems()

