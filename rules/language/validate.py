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
from domain.messages import N_, Message
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
    """``"；是否应为 'x'？"`` (a :class:`~domain.messages.Message`) for the nearest known name, or ``""``."""
    near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return Message(N_("；是否应为 '{name}'？"), name=near[0]) if near else ""


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
                msg = Message(N_("规则 id '{id}' 重复（首次出现在第 {line} 行）"), id=rule.id, line=seen[rule.id])
                out.append((rule.lines.get("id", rule.line), msg))
            seen.setdefault(rule.id, rule.lines.get("id", rule.line))
            out.extend(self._rule(rule))
        for case in self.file.tests:
            out.extend(self._test(case))
        return sorted(out, key=lambda p: p[0])

    # -- rules -------------------------------------------------------------------------------------

    def _kind(self, kind: str, line: int) -> Iterator[Problem]:
        if kind not in self.kinds.kinds:
            yield line, Message(N_("未知的记录类型 '{kind}'{hint}"), kind=kind, hint=suggest(kind, self.kinds.kinds))

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
                    msg = Message(N_("join 字段 '{name}' 不是 {kind} 记录的字段{hint}"), name=name, kind=step.record,
                                  hint=suggest(name, known))
                    yield rule.lines.get("join", rule.line), msg
        for name in rule.group_by or ():
            if name not in firing:
                hint = suggest(name, firing)
                msg = Message(N_("group_by 字段 '{name}' 不是 {kind} 记录的字段{hint}"), name=name,
                              kind=rule.firing_record, hint=hint)
                yield rule.lines.get("group_by", rule.line), msg
        if rule.summary is not None:
            yield from self._summary(rule, firing)

    def _levels(self, rule: Rule, firing: frozenset[str]) -> Iterator[Problem]:
        if rule.window is not None:
            agg = rule.window.aggregate.name
            allowed = frozenset({agg, "periods"})
            what = Message(N_("窗口规则的 levels 只能检验 '{agg}' 和 'periods'"), agg=agg)
            if rule.baseline is not None:
                allowed |= frozenset(BASELINE_NAMES)
                what = Message(N_("窗口规则的 levels 只能检验 '{agg}'、'periods' "
                                  "及基线的 expected、spread、ratio、zscore"), agg=agg)
        else:
            allowed, what = firing, Message(N_("{kind} 记录的字段"), kind=rule.firing_record)
        for spec in rule.levels:
            if spec.when is None:
                continue
            for test in spec.when.walk():
                if test.field in BASELINE_NAMES and test.field not in allowed:
                    yield test.line, _needs_baseline(test.field, rule)
                elif test.field not in allowed:
                    hint = suggest(test.field, allowed)
                    yield test.line, Message(N_(
                            "levels 中的未知字段 '{field}'：{what}{hint}"), field=test.field, what=what,
                                            hint=hint)
                else:
                    yield from self._test_value(test, rule.firing_record)

    def _window(self, rule: Rule, fields: frozenset[str]) -> Iterator[Problem]:
        assert rule.window is not None
        window, kind = rule.window, str(rule.record)
        for name in window.by:
            if name not in fields:
                yield window.lines.get("by", window.line), Message(
                    N_("窗口字段 '{name}' 不是 {kind} 记录的字段{hint}"), name=name, kind=kind,
                    hint=suggest(name, fields))
        agg = window.aggregate
        if agg.field is not None:
            if agg.field not in fields:
                hint = suggest(agg.field, fields)
                yield agg.line, Message(N_(
                        "{aggregate} 字段 '{name}' 不是 {kind} 记录的字段{hint}"), aggregate=agg.kind,
                                       name=agg.field, kind=kind, hint=hint)
            elif agg.kind == "sum":
                spec = self.kinds.kinds[kind].fields.get(agg.field)
                if spec is None or spec.type not in ("int", "number"):
                    yield agg.line, Message(N_("sum 须用数值字段；'{name}' 不是数值"), name=agg.field)

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
            yield line, Message(N_("summary：{reason}"), reason=exc.args[0] if exc.args else str(exc))
            return
        for name in names:
            if name in BASELINE_NAMES and name not in allowed:
                yield line, _needs_baseline(name, rule)
            elif name not in allowed:
                yield line, Message(N_(
                        "summary 中的字段 '{name}' 不存在{hint}"), name=name, hint=suggest(name, allowed))

    def _condition(self, cond: Condition, kind: str, allowed: frozenset[str]) -> Iterator[Problem]:
        for test in cond.walk():
            if test.field not in allowed:
                hint = suggest(test.field, allowed)
                yield test.line, Message(N_(
                        "{kind} 记录没有字段 '{field}'{hint}"), kind=kind, field=test.field, hint=hint)
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
                yield test.line, exc.args[0] if exc.args else str(exc)
            return
        values: list[Any] = (
            list(test.value) if test.op in (Op.in_, Op.not_in) else [test.value]
        )
        if test.field == "periods" and test.op in (Op.contains, Op.in_, Op.not_in, Op.eq, Op.ne):
            if test.op is not Op.contains:
                yield test.line, Message(N_("periods 是名称列表：请用 'contains' 检验"))
                return
            for v in values:
                if v not in self.calendars.names:
                    yield test.line, Message(N_("未知的时段 '{name}'{hint}"), name=v,
                                            hint=suggest(str(v), self.calendars.names))
            return
        spec = self.kinds.kinds[kind].fields.get(test.field) if kind in self.kinds.kinds else None
        # `eq` (and `matches`) outside the values is a warning of rules.language.lint (language 1.1)
        if spec is not None and spec.values is not None and test.op in (Op.ne, Op.in_, Op.not_in):
            for v in values:
                if v not in spec.values:
                    allowed = ", ".join(map(str, spec.values))
                    hint = suggest(str(v), map(str, spec.values)) or Message(N_("；可选值：{allowed}"), allowed=allowed)
                    yield test.line, Message(N_("{field} 不会是 '{value}'{hint}"), field=test.field, value=v, hint=hint)

    # -- tests -------------------------------------------------------------------------------------

    def _test(self, case: TestCase) -> Iterator[Problem]:
        for i, record in enumerate(case.records):
            line = case.record_lines[i] if i < len(case.record_lines) else case.line
            missing = [k for k in ("kind", "at", "region") if k not in record]
            if missing:
                yield line, Message(N_("测试 '{name}'：记录须有 {keys}"), name=case.name, keys=", ".join(missing))
                continue
            kind = str(record["kind"])
            if kind not in self.kinds.kinds:
                hint = suggest(kind, self.kinds.kinds)
                yield line, Message(N_(
                        "测试 '{name}'：未知的记录类型 '{kind}'{hint}"), name=case.name, kind=kind, hint=hint)
                continue
            problem = _record_basics(record)
            if problem:
                yield line, Message(N_("测试 '{name}'：{problem}"), name=case.name, problem=problem)
                continue
            own = self.kinds.kinds[kind].fields
            for key in record:
                if key not in own and key not in ("kind", "source", "id", "at", "region"):
                    hint = suggest(str(key), [*own, "source", "id"])
                    yield line, Message(N_(
                            "测试 '{name}'：{kind} 记录没有字段 '{key}'{hint}"), name=case.name, kind=kind,
                                        key=key, hint=hint)
            try:
                self.kinds.coerce(kind, {k: v for k, v in record.items() if k in own})
            except ValueError as exc:
                yield line, Message(N_(
                        "测试 '{name}'：{problem}"), name=case.name, problem=exc.args[0] if exc.args else str(exc))
        for entry in case.expect:
            level = entry.get("level")
            if level is not None and level not in LEVEL_NAMES:
                hint = suggest(str(level), LEVEL_NAMES) or Message(N_("；等级为 blue、yellow、orange、red"))
                yield case.line, Message(N_("测试 '{name}'：expect 中的未知等级 '{level}'{hint}"), name=case.name,
                                         level=level, hint=hint)


LEVEL_NAMES = tuple(level.value for level in Level)


def _needs_baseline(name: str, rule: Rule) -> str:
    """Why ``expected``/``spread``/``ratio``/``zscore`` cannot be used in a rule without a baseline."""
    if rule.window is None:
        return Message(N_("'{name}' 需要基线，而基线只用于窗口规则：'{name}' 不是 {kind} 记录的字段"), name=name,
                       kind=rule.firing_record)
    return Message(N_("'{name}' 需要基线：请在规则 '{rule}' 中加上如 baseline: {{samples: 8, every: 7d}}"), name=name,
                   rule=rule.id)


def _record_basics(record: dict[str, Any]) -> str | None:
    """Why a test record's ``at`` or ``region`` is unusable, or ``None``."""
    at = record["at"]
    try:
        when = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    except ValueError:
        return Message(N_("'at' 不是 ISO-8601 时间：{at}"), at=repr(at))
    if when.tzinfo is None:
        return Message(N_("'at' 须带时区，例如 +08:00：{at}"), at=repr(at))
    try:
        validate_code(str(record["region"]))
    except RegionCodeError as exc:
        return str(exc)
    return None


def validate_file(rule_file: RuleFile, kinds: RecordKinds, calendars: Calendars) -> list[Problem]:
    """Problems of one rule file as ``(line, message)``, sorted by line."""
    return FileValidator(rule_file, kinds, calendars).problems()

