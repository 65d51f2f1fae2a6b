"""Matchers: which checks hold for a batch of records — in plain Python, or by durable_rules.

A *check* is one condition a rule needs tested on records of one kind (see :mod:`rules.engine.compile`):
a step's ``where``, or ``where`` AND a level's ``when``. A window rule's levels are tested on the
aggregate (``count``/``sum``/``distinct`` and ``periods``) with :meth:`Matcher.levels`.

:class:`DurableMatcher` drives durable_rules' C engine directly (``durable.engine.durable_rules_engine``,
the module :class:`durable.engine.Host` wraps): one ruleset per record kind, every record of a batch
asserted as a fact in one call, the queued actions drained (each names the durable rule and the fact),
then the facts retracted in one call. No ``Host``: it would start wall-clock timer threads that
dispatch actions from another thread; here everything runs in the caller's thread.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Protocol

from durable.engine import durable_rules_engine as _dre

from rules.engine.compile import CompiledKind, ask_engine, compile_kind
from rules.engine.conditions import evaluate
from rules.language.model import Condition, Rule

__all__ = ["DurableMatcher", "Matcher", "Plan", "PythonMatcher", "build_plan"]

_names = itertools.count(1)
_NONE: frozenset[int] = frozenset()
_NO_NAMES: frozenset[str] = frozenset()


@dataclass
class Plan:
    """What to test: checks per record kind, and per window rule its levels' ``when`` on the aggregate."""

    checks: dict[str, list[tuple[int, Condition]]] = field(default_factory=dict)
    aggregates: dict[int, list[tuple[int, Condition]]] = field(default_factory=dict)
    info: list[tuple[int, int, int]] = field(default_factory=list)
    """check id → (rule index, step index, level index or -1 for the step's ``where`` alone)."""
    periods_kinds: frozenset[str] = frozenset()
    """Record kinds whose checks (or windows' levels) test ``periods``."""


def _and(a: Condition, b: Condition | None) -> Condition:
    return a if b is None else Condition(terms=a.terms + b.terms, file=a.file, line=a.line)


def build_plan(rules: Sequence[Rule]) -> Plan:
    """The checks of ``rules``: a simple rule's ``where`` AND each level's ``when``; a window's ``where``
    (its levels go to ``aggregates``); each step's ``where`` of a sequence or absence, and for the firing
    step (a sequence's last, an absence's ``after``) also ``where`` AND each level's ``when``."""
    plan = Plan()
    periods: set[str] = set()

    def check(kind: str, ri: int, si: int, li: int, cond: Condition) -> None:
        plan.checks.setdefault(kind, []).append((len(plan.info), cond))
        plan.info.append((ri, si, li))
        if any(t.field == "periods" for t in cond.walk()):
            periods.add(kind)

    for ri, rule in enumerate(rules):
        steps = rule.steps
        if rule.window is not None:
            check(steps[0].record, ri, 0, -1, steps[0].where)
            plan.aggregates[ri] = [(li, s.when) for li, s in enumerate(rule.levels) if s.when is not None]
            if any(t.field == "periods" for _, c in plan.aggregates[ri] for t in c.walk()):
                periods.add(steps[0].record)
            continue
        fire_step = 0 if rule.sequence is None else len(steps) - 1
        for si, step in enumerate(steps):
            if rule.kind == "simple":
                for li, spec in enumerate(rule.levels):
                    check(step.record, ri, si, li, _and(step.where, spec.when))
                continue
            check(step.record, ri, si, -1, step.where)
            if si == fire_step:
                for li, spec in enumerate(rule.levels):
                    if spec.when is not None:
                        check(step.record, ri, si, li, _and(step.where, spec.when))
    plan.periods_kinds = frozenset(periods)
    return plan


class Matcher(Protocol):
    """Tests the checks of a :class:`Plan`."""

    def match(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[AbstractSet[int]]:
        """For each ``(kind, fields)``, the ids of the checks that hold (to read, not to change: equal
        answers may be one shared frozenset)."""
        ...

    def levels(self, rule: int, fields: Mapping[str, Any]) -> set[int]:
        """The indices of window rule ``rule``'s levels whose ``when`` holds on the aggregate ``fields``."""
        ...

    def close(self) -> None:
        """Free what the matcher holds."""
        ...


class PythonMatcher:
    """The reference: every check evaluated with :func:`rules.engine.conditions.evaluate`."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def match(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[AbstractSet[int]]:
        """See :meth:`Matcher.match`."""
        checks = self.plan.checks
        return [{cid for cid, cond in checks.get(kind, ()) if evaluate(cond, f)} for kind, f in items]

    def levels(self, rule: int, fields: Mapping[str, Any]) -> set[int]:
        """See :meth:`Matcher.levels`."""
        return {li for li, cond in self.plan.aggregates.get(rule, ()) if evaluate(cond, fields)}

    def close(self) -> None:
        """Nothing to free."""


_ACTION = re.compile(r'\{"([^"]+)":\{"m":\{"id": ?(\d+)[,}]')
"""The head of an action: ``{"<durable rule>":{"m":{"id": <fact id>, …`` (the fact as asserted, id first)."""


class _Ruleset:
    """One durable ruleset (its C handle) and the compiled mapping back to checks."""

    def __init__(self, compiled: CompiledKind) -> None:
        self.compiled = compiled
        self.handle: Any = None
        if compiled.definition:
            self.handle = _dre.create_ruleset(
                f"fenghuo-{next(_names)}-{compiled.kind}", json.dumps(compiled.definition, ensure_ascii=False)
            )
        self.mid = 0
        self.answers: dict[frozenset[str], frozenset[int]] = {}
        """names of the durable rules that matched a fact → the checks that hold (few distinct sets)."""
        self.known: dict[Any, AbstractSet[int]] = {}
        """a fact's tested values (and their types) → the checks that hold for it (:meth:`DurableMatcher.match`)."""

    def run(self, facts: list[dict[str, Any]]) -> dict[int, set[str]]:
        """Assert ``facts`` (each with a unique ``id``), drain the actions, retract them: fact id → names
        of the durable rules that matched it."""
        out: dict[int, set[str]] = {}
        if self.handle is None:
            return out
        text = json.dumps(facts, ensure_ascii=False, separators=(",", ":"))
        _dre.assert_facts(self.handle, text)  # (1, n): nothing matched; errors raise
        try:
            started = _dre.start_action(self.handle)
            if started:
                _, message, state = started
                head = _ACTION.match
                while message:
                    m = head(message)
                    if m is not None:
                        out.setdefault(int(m.group(2)), set()).add(m.group(1))
                    else:  # the ruleset's state object (no fields) matches `$nex` tests: not a record
                        for name, bound in json.loads(message).items():
                            fid = bound["m"].get("id")
                            if isinstance(fid, int):
                                out.setdefault(fid, set()).add(name)
                    message = _dre.complete_and_start_action(self.handle, state)
        finally:
            _dre.retract_facts(self.handle, text)
        return out

    def close(self) -> None:
        if self.handle is not None:
            _dre.delete_ruleset(self.handle)
            self.handle = None


_KNOWN = 1 << 16
"""Facts' values remembered per ruleset, at most (cleared when full: most kinds test few distinct values)."""


class DurableMatcher:
    """Checks tested by durable_rules: one ruleset per record kind, one per window rule's levels."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.kinds: dict[str, _Ruleset] = {}
        self.aggregates: dict[int, _Ruleset] = {}
        self.memo: dict[tuple[int, tuple[Any, ...]], set[int]] = {}
        self._unmatched: dict[str, frozenset[int]] | None = None
        self._posted: dict[str, _Ruleset] = {}
        try:
            ask_engine(
                [c for checks in plan.checks.values() for _, c in checks]
                + [c for levels in plan.aggregates.values() for _, c in levels]
            )
            for kind, checks in plan.checks.items():
                if checks:
                    self.kinds[kind] = _Ruleset(compile_kind(kind, checks))
            for rule, levels in plan.aggregates.items():
                if levels:
                    self.aggregates[rule] = _Ruleset(compile_kind("aggregate", levels))
        except BaseException:
            self.close()
            raise

    def match(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[AbstractSet[int]]:
        """See :meth:`Matcher.match`: the records of each kind go to that kind's ruleset in one batch.
        Records that match no durable rule share one answer (the kind's checks without conditions)."""
        if self._unmatched is None:
            self._prepare()
        assert self._unmatched is not None
        unmatched = self._unmatched
        # Every record starts with its kind's answer when no durable rule matches; one pass then builds
        # the facts of the kinds that have a ruleset (most records in a city are of kinds that have none).
        out: list[AbstractSet[int]] = [unmatched.get(kind, _NONE) for kind, _ in items]
        posted = self._posted
        batches: dict[str, tuple[list[int], list[dict[str, Any]], list[Any]]] = {}
        for i, (kind, fields) in enumerate(items):
            rs = posted.get(kind)
            if rs is None:
                continue
            compiled = rs.compiled
            # A fact's outcome depends only on the values it carries: one seen before is answered from
            # memory (as :meth:`levels` does), and durable_rules is asked only about values new to it.
            key = None
            if not compiled.python:
                values = tuple(map(fields.get, compiled.fields))
                key = (values, tuple(map(type, values)))  # 1, 1.0 and True are one key otherwise
                try:
                    hit = rs.known.get(key)
                except TypeError:  # a list among the values: asked every time
                    key = hit = None
                if hit is not None:
                    out[i] = hit
                    continue
            got = batches.get(kind)
            if got is None:
                got = batches[kind] = ([], [], [])
            rs.mid += 1
            got[0].append(i)
            got[1].append(compiled.message(fields, rs.mid))
            got[2].append(key)
        for kind, (indices, facts, keys) in batches.items():
            rs = posted[kind]
            compiled = rs.compiled
            matched = rs.run(facts)
            if compiled.python:  # leaves evaluated in Python: every record needs its own answer
                for i, fact in zip(indices, facts, strict=True):
                    out[i] = frozenset(compiled.checks_of(matched.get(fact["id"], _NO_NAMES), items[i][1]))
                continue
            answers, known = rs.answers, rs.known
            if len(known) >= _KNOWN:
                known.clear()
            for i, fact, key in zip(indices, facts, keys, strict=True):
                names = matched.get(fact["id"])
                if names is not None:
                    names_key = frozenset(names)
                    hit = answers.get(names_key)
                    if hit is None:
                        hit = answers[names_key] = frozenset(compiled.checks_of(names))
                    out[i] = hit
                if key is not None:
                    known[key] = out[i]
        return out

    def _prepare(self) -> None:
        """Per kind: the answer for a record no durable rule matches, and the rulesets to post to."""
        self._unmatched = {}
        self._posted = {}
        for kind, rs in self.kinds.items():
            if rs.compiled.python:
                self._posted[kind] = rs
                self._unmatched[kind] = _NONE  # replaced per record
            else:
                self._unmatched[kind] = rs.compiled.unmatched()
                if rs.handle is not None:
                    self._posted[kind] = rs

    def levels(self, rule: int, fields: Mapping[str, Any]) -> set[int]:
        """See :meth:`Matcher.levels`. A condition's outcome depends only on the fields it tests, so the
        answer is remembered per tested values (an aggregate takes few distinct values)."""
        rs = self.aggregates.get(rule)
        if rs is None:
            return set()
        compiled = rs.compiled
        key = (rule, tuple(map(fields.get, compiled.fields)))  # periods come as a tuple
        hit = self.memo.get(key)
        if hit is None:
            rs.mid += 1
            names = rs.run([compiled.message(fields, rs.mid)]).get(rs.mid, set())
            hit = {compiled.direct[x] for x in names if x in compiled.direct} | compiled.checks_of(names, fields)
            if len(self.memo) > 100_000:
                self.memo.clear()
            self.memo[key] = hit
        return hit

    def close(self) -> None:
        """Delete the durable rulesets."""
        for rs in [*self.kinds.values(), *self.aggregates.values()]:
            rs.close()
        self.kinds, self.aggregates = {}, {}

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()
