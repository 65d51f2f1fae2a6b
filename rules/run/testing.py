"""Run the ``tests`` written in rule files (docs/rules-language.md#tests).

Each test feeds its ``records`` (any order; ``source`` defaults to ``test``, ``id`` to the position) to a
fresh :class:`~rules.engine.evaluate.Evaluator` holding the test's file's rules plus the rules whose warnings
they can take (chaining, transitively), and compares the warnings with ``expect``: each entry matches
one distinct warning on the fields it names — ``rule``, ``level``, ``region``, a tier (``street``: the
warning region's ancestor), ``occurrences``, ``summary``, ``title``, ``fingerprint``, or a value of the
warning's latest firing (``count``, ``sum``, ``distinct``, ``people``…). The number of warnings must
equal the number of entries.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from domain.kinds import RecordKinds
from domain.messages import N_, Message, joined, message_of
from domain.records import Record
from domain.regions import TIERS, ancestor, tier_of
from domain.warnings import WarningState
from rules.engine.evaluate import Evaluator
from rules.language.calendars import Calendars
from rules.language.chaining import step_takes
from rules.language.model import Rule, TestCase

__all__ = ["TestResult", "Translate", "format_results", "record_from_dict", "run_test", "run_tests"]

Translate = Callable[[Message], str]
"""How a message reaches the reader: ``str`` is the Chinese text; the command line passes the catalogue's
``integrations.i18n.translate`` (rules/ knows no language, it only marks its messages)."""

_TIERS = {t.value: t for t in TIERS}


@dataclass(frozen=True)
class TestResult:
    """The outcome of one test case."""

    __test__ = False

    file: str
    name: str
    passed: bool
    message: str = ""
    line: int = 0
    """Line of the test entry in its file (0 when built by hand)."""


@dataclass(frozen=True)
class _Book:
    rules: tuple[Rule, ...]
    version: str
    calendars: Calendars | None


def record_from_dict(data: Mapping[str, Any], index: int = 0, kinds: RecordKinds | None = None) -> Record:
    """A record from the test/JSON-lines shape: ``kind``, ``at``, ``region``, optional ``source`` and
    ``id`` (default ``test`` and ``index``); every other key is an attribute (typed by ``kinds``).
    Raises ``ValueError`` with a one-line reason (Chinese first) for a record that cannot be one."""
    missing = [k for k in ("kind", "at", "region") if k not in data]
    if missing:
        raise ValueError(Message(N_("记录缺少 {keys}"), keys=", ".join(missing)))
    at = data["at"]
    if not isinstance(at, datetime):
        try:
            at = datetime.fromisoformat(str(at))
        except ValueError:
            raise ValueError(Message(N_("at 不是 ISO-8601 时间，应写成 2026-01-05T09:00:00+08:00，得到 {value}"),
                                     value=repr(at))) from None
    attrs = {k: v for k, v in data.items() if k not in ("kind", "at", "region", "source", "id")}
    kind = str(data["kind"])
    if kinds is not None and kind in kinds.kinds:
        try:
            attrs = kinds.coerce(kind, attrs)
        except ValueError as exc:
            raise ValueError(Message(N_("字段取值无效：{error}"), error=message_of(exc) or str(exc))) from None
    try:
        return Record(kind=kind, source=str(data.get("source", "test")), id=str(data.get("id", index)),
                      at=at, region=str(data["region"]), attributes=attrs)
    except ValidationError as exc:
        raise ValueError(joined([_problem(e) for e in exc.errors()], Message(N_("；")))) from None


def _problem(error: Any) -> Message:
    """One pydantic error of a record, in words (never pydantic's URL)."""
    where = ".".join(str(p) for p in error.get("loc", ())) or Message(N_("记录"))
    kind = error.get("type", "")
    if where == "region" and kind == "value_error":
        return Message(N_("region 应为 12 位地区代码（网格 15 位），得到 {value}"), value=repr(error.get("input")))
    if kind == "timezone_aware":
        return Message(N_("{field} 需要时区，例如 2026-01-05T09:00:00+08:00"), field=where)
    if kind == "value_error":
        return Message(N_("{field} 无效：{error}"), field=where,
                       error=error.get("ctx", {}).get("error", error.get("msg", "")))
    if kind == "missing":
        return Message(N_("缺少 {field}"), field=where)
    return Message(N_("{field} 无效：{error}"), field=where, error=error.get("msg", kind))


def _with_producers(file_rules: Sequence[Rule], every: Sequence[Rule]) -> tuple[Rule, ...]:
    """``file_rules`` plus every rule whose warnings they can take, transitively, in rulebook order."""
    wanted = {r.id for r in file_rules}
    changed = True
    while changed:
        changed = False
        for producer in every:
            if producer.id in wanted:
                continue
            if any(step_takes(s, producer) for r in every if r.id in wanted for s in r.steps):
                wanted.add(producer.id)
                changed = True
    return tuple(r for r in every if r.id in wanted)


def _matches(expect: Mapping[str, Any], w: WarningState, values: Mapping[str, Any]) -> bool:
    for key, want in expect.items():
        if key in _TIERS:
            tier = _TIERS[key]
            got: Any = ancestor(w.region, tier) if tier_of(w.region).rank >= tier.rank else None
        elif key == "level":
            got = w.level.value
        elif key in ("rule", "region", "occurrences", "summary", "title", "fingerprint", "explanation"):
            got = getattr(w, key)
        elif key in values:
            got = values[key]
        else:
            return False
        if str(got) != str(want) and got != want:
            return False
    return True


def _assign(expects: Sequence[Mapping[str, Any]], ws: list[tuple[WarningState, dict[str, Any]]]) -> bool:
    """Whether each expect entry can take a distinct warning (small: plain backtracking)."""
    used: set[int] = set()

    def place(i: int) -> bool:
        if i == len(expects):
            return True
        for j, (w, vals) in enumerate(ws):
            if j not in used and _matches(expects[i], w, vals):
                used.add(j)
                if place(i + 1):
                    return True
                used.discard(j)
        return False

    return place(0)


_SHOWN = ("rule", "level", "region", "occurrences")
"""What the got column always shows of a warning; the keys the expect entries name come after."""


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _got_value(key: str, w: WarningState, values: Mapping[str, Any]) -> Any:
    if key in _TIERS:
        tier = _TIERS[key]
        return ancestor(w.region, tier) if tier_of(w.region).rank >= tier.rank else None
    if key == "level":
        return w.level.value
    if key in ("rule", "region", "occurrences", "summary", "title", "fingerprint", "explanation"):
        return getattr(w, key)
    return values.get(key)


def mismatch_table(expects: Sequence[Mapping[str, Any]], got: Sequence[tuple[WarningState, dict[str, Any]]],
                   tr: Translate = str) -> str:
    """Expected against got, one row a warning: each expect entry beside the warning it matches (or
    the first unused one of its rule), ``✓`` where they agree; then the warnings nobody expected."""
    keys = list(_SHOWN) + [k for e in expects for k in e if k not in _SHOWN]
    keys = list(dict.fromkeys(keys))
    used: set[int] = set()
    rows: list[tuple[str, str, str]] = []
    for e in expects:
        pick = next((j for j, (w, v) in enumerate(got) if j not in used and _matches(e, w, v)), None)
        if pick is None:
            pick = next((j for j, (w, _) in enumerate(got) if j not in used and w.rule == e.get("rule")), None)
        left = " ".join(f"{k}={e[k]}" for k in keys if k in e)
        if pick is None:
            rows.append(("✗", left, tr(Message(N_("（无）")))))
            continue
        used.add(pick)
        w, v = got[pick]
        right = " ".join(f"{k}={_got_value(k, w, v)}" for k in keys if k in _SHOWN or k in e)
        rows.append(("✓" if _matches(e, w, v) else "✗", left, right))
    for j, (w, v) in enumerate(got):
        if j not in used:
            rows.append(("✗", tr(Message(N_("（无）"))), " ".join(f"{k}={_got_value(k, w, v)}" for k in _SHOWN)))
    if not rows:
        rows.append(("✗", "", ""))
    head = ("", tr(Message(N_("期望（{n}）"), n=len(expects))), tr(Message(N_("实际（{n}）"), n=len(got))))
    wide = max(_width(r[1]) for r in [head, *rows])
    return "\n".join(f"{mark:1} {left}{' ' * (wide - _width(left))} | {right}" for mark, left, right in [head, *rows])


def run_test(rules: tuple[Rule, ...], version: str, calendars: Calendars | None, kinds: RecordKinds | None,
             case: TestCase, file: str = "", engine: str = "durable", tr: Translate = str) -> TestResult:
    """Run one test case over ``rules``."""
    try:
        records = [record_from_dict(r, i + 1, kinds) for i, r in enumerate(case.records)]
    except ValueError as exc:
        reason = Message(N_("测试记录有误：{reason}"), reason=message_of(exc) or str(exc))
        return TestResult(file, case.name, False, tr(reason), case.line)
    evaluator = Evaluator(_Book(rules, version, calendars), engine)
    try:
        evaluator.feed(records)
        got = [(w, evaluator.last_values.get(w.fingerprint, {})) for w in evaluator.warnings()]
    finally:
        evaluator.close()
    expects = [dict(e) for e in case.expect]
    if len(got) == len(expects) and _assign(expects, got):
        return TestResult(file, case.name, True, line=case.line)
    return TestResult(file, case.name, False, mismatch_table(expects, got, tr), case.line)


def run_tests(rulebook: Any, engine: str = "durable", tr: Translate = str) -> list[TestResult]:
    """Run every test of every file of ``rulebook`` (a :class:`rules.language.loader.Rulebook`)."""
    out: list[TestResult] = []
    for name, rule_file in rulebook.files.items():
        rules = _with_producers(rule_file.rules, rulebook.rules)
        for case in rule_file.tests:
            out.append(
                run_test(rules, rulebook.version, rulebook.calendars, rulebook.kinds, case, name, engine, tr)
            )
    return out


def format_results(results: Sequence[TestResult], tr: Translate = str) -> str:
    """Per failure a ``FILE:LINE: 测试 'name' 未通过`` line and its expected-against-got table, then
    ``N 条通过，M 条未通过`` (through ``tr``: "N passed, M failed" in English)."""
    lines: list[str] = []
    for r in results:
        if not r.passed:
            lines.append(tr(Message(N_("{file}:{line}: 测试 '{name}' 未通过"), file=r.file, line=r.line, name=r.name)))
            lines.extend(f"    {row}" for row in r.message.splitlines())
    passed = sum(1 for r in results if r.passed)
    lines.append(tr(Message(N_("{passed} 条通过，{failed} 条未通过"), passed=passed, failed=len(results) - passed)))
    return "\n".join(lines)
