"""The evaluator: records in, warnings out — firings folded into warnings, warnings chained back in.

``Evaluator(rulebook).feed(records)`` sorts the records by ``(at, source, id)``, runs them through a
:class:`~rules.engine.engines.RuleEngine` and folds every firing into the open warning of its fingerprint
(:func:`domain.warnings.fold`). A warning enters the stream as a record of kind ``warning`` once when it
opens and once each time its level rises, at the ``at`` of that firing, right after the record whose
firing made it (docs/rules-language.md#chaining). :meth:`Evaluator.snapshot` / :meth:`Evaluator.restore` carry
the whole state (windows, partial sequences, pending absences, watermark, sweep schedule, open warnings)
across runs.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from domain.records import Record
from domain.warnings import Change, Firing, Level, Status, WarningState
from rules.engine.budget import EvaluationError
from rules.engine.engines import DurableEngine, ReferenceEngine
from rules.engine.gc_pause import gc_paused
from rules.engine.open_warnings import OpenWarnings
from rules.engine.protocol import RulebookLike, RuleEngine
from rules.engine.windows import seconds

__all__ = ["ChainHook", "EngineName", "Evaluator", "warning_from_json", "warning_to_json"]

EngineName = Literal["durable", "reference"]

ChainHook = Callable[[Record, Record, Firing], None]
"""``on_chain(trigger, warning, firing)``: a firing opened or raised a warning, which enters the stream as
the ``warning`` record right after ``trigger`` (the record whose processing made the firing; for an
absence, the record that moved time past its deadline)."""

WARNING_SOURCE = "fenghuo"
"""``source`` of the chained ``warning`` records."""


def _engine(rulebook: RulebookLike, engine: str) -> RuleEngine:
    if engine == "durable":
        return DurableEngine(rulebook)
    if engine == "reference":
        return ReferenceEngine(rulebook)
    raise ValueError(f"engine must be 'durable' or 'reference', got {engine!r}")


def warning_to_json(w: WarningState) -> dict[str, Any]:
    """A warning as plain JSON."""
    return {"fingerprint": w.fingerprint, "rule": w.rule, "level": w.level.value, "region": w.region,
            "first_at": w.first_at.isoformat(), "last_at": w.last_at.isoformat(),
            "occurrences": w.occurrences, "explanation": w.explanation, "summary": w.summary,
            "title": w.title, "records": list(w.records), "rulebook_version": w.rulebook_version,
            "status": w.status.value}


def warning_from_json(d: Mapping[str, Any]) -> WarningState:
    """The inverse of :func:`warning_to_json`."""
    return WarningState(
        fingerprint=d["fingerprint"], rule=d["rule"], level=Level(d["level"]), region=d["region"],
        first_at=datetime.fromisoformat(d["first_at"]), last_at=datetime.fromisoformat(d["last_at"]),
        occurrences=int(d["occurrences"]), explanation=d["explanation"], summary=d["summary"],
        title=d["title"], records=tuple(d["records"]), rulebook_version=d["rulebook_version"],
        status=Status(d.get("status", "open")))


class Evaluator:
    """Evaluates a rulebook over batches of records and keeps the open warnings."""

    def __init__(self, rulebook: RulebookLike, engine: EngineName | str = "durable", *, updates: bool = True,
                 on_chain: ChainHook | None = None) -> None:
        """``updates=False``: for a caller that reads only the warnings at the end (a backtest) —
        :meth:`feed` returns only the changes that open or raise a warning, and a firing that merely
        updates one is folded into it in place (:func:`domain.warnings.fold_in_place`; for a window
        rule, without the firing being made at all). The warnings are the same either way; the states
        :meth:`feed` returned may change afterwards. ``on_chain``: see :attr:`on_chain`."""
        self.rulebook = rulebook
        self.on_chain = on_chain
        """Called with every ``warning`` record this evaluator's firings chain (:data:`ChainHook`), also
        when none of its own rules takes warnings: how another evaluator's rules get them
        (:mod:`rules.run.chain_buffer`)."""
        self._updates = updates
        self.engine_name = str(engine)
        self.engine: RuleEngine = _engine(rulebook, self.engine_name)
        self._held = OpenWarnings(in_place=not updates)
        self._chained = 0
        self._chain = "warning" in self.engine.watched
        self.engine.quiet = self._held.quiet
        self.engine.absorb = None if updates else self._held.absorb
        self.errors: list[EvaluationError] = []
        """The records the last :meth:`feed` left out (over the budget or failing a rule), with the rule
        and the reason: the caller quarantines them and tells the administrators."""

    def feed(self, records: Iterable[Record], *, in_order: bool = False) -> list[tuple[WarningState, Change]]:
        """Evaluate ``records`` (any order; sorted here) after everything fed before. Returns each
        warning change in stream order: opened, updated (another occurrence) or raised.
        ``in_order=True``: take ``records`` in the order given, unsorted — for a caller that places
        chained ``warning`` records where a single run makes them (right after their trigger, which
        for an absence's is behind its own ``at``: sorting would move it)."""
        # The batch makes no reference cycles; collect once after it, not every few records (sorting
        # included: a collection every 700 new tuples walks every live window and warning).
        with gc_paused():
            return self._feed(records, in_order)

    def _feed(self, records: Iterable[Record], in_order: bool = False) -> list[tuple[WarningState, Change]]:
        # The engine's order (Record.key) with `at` as epoch seconds: much faster to compare than aware
        # datetimes, the same order (a double resolves well under a microsecond at today's epochs).
        given = list(records)
        times = [seconds(r.at) for r in given]
        if in_order or all(map(operator.lt, times, itertools.islice(times, 1, None))):
            ordered = given  # in order already, no two at the same instant (usual for a feed): no keys
        else:
            keys = sorted([(t, r.source, r.id, i) for i, (t, r) in enumerate(zip(times, given, strict=True))])
            ordered = [given[k[3]] for k in keys]
            times = [k[0] for k in keys]
        changes: list[tuple[WarningState, Change]] = []
        updates, hook, held = self._updates, self.on_chain, self._held

        def emit(record: Record, firings: list[Firing]) -> Sequence[Record]:
            chained: list[Record] = []
            for f in firings:
                state, change = held.fold(f)
                if change is not Change.updated:
                    changes.append((state, change))
                    if self._chain or hook is not None:
                        warning = self._warning_record(state, f)
                        if self._chain:
                            chained.append(warning)
                        if hook is not None:
                            hook(record, warning, f)
                elif updates:
                    changes.append((state, change))
            return chained

        try:
            self.engine.process(ordered, emit, times)
        finally:
            held.settle()  # every state whole again between feeds
        self.errors = list(self.engine.errors)
        self.engine.errors.clear()
        return changes

    @property
    def last_values(self) -> dict[str, dict[str, Any]]:
        """Per open warning, the values of its latest firing (``count``, ``people``…)."""
        return self._held.last_values

    def _warning_record(self, state: WarningState, f: Firing) -> Record:
        self._chained += 1
        return Record(kind="warning", source=WARNING_SOURCE, id=f"{state.fingerprint}-{self._chained}",
                      at=f.at, region=state.region,
                      attributes={"rule": state.rule, "level": state.level.value})

    def warnings(self) -> list[WarningState]:
        """The open warnings (not resolved), oldest first."""
        return self._held.in_order()

    def resolve(self, fingerprint: str) -> bool:
        """Mark the warning resolved: the next firing of its fingerprint opens a new one. False if no
        open warning has that fingerprint."""
        return self._held.drop(fingerprint)

    def adopt(self, warnings: Iterable[WarningState]) -> None:
        """Take ``warnings`` as the open ones, replacing those held (after a rule edit, the store's open
        warnings are the truth; the event-time state stays as it is)."""
        self._held.replace(warnings)

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to continue later, as plain JSON."""
        with gc_paused():  # a month of windows is millions of new containers: collections would walk them all
            return self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        return {"rulebook_version": self.rulebook.version, "engine": self.engine.snapshot(),
                "warnings": [warning_to_json(w) for w in self.warnings()], "chained": self._chained,
                "values": self.last_values}

    @classmethod
    def restore(cls, rulebook: RulebookLike, snapshot: Mapping[str, Any],
                engine: EngineName | str = "durable", *, updates: bool = True,
                on_chain: ChainHook | None = None) -> Evaluator:
        """An evaluator that continues from ``snapshot`` (taken with the same rulebook version); ``updates``
        and ``on_chain`` as for the constructor."""
        if snapshot.get("rulebook_version") not in (None, rulebook.version):
            raise ValueError("the snapshot was taken with another rulebook version")
        out = cls(rulebook, engine, updates=updates, on_chain=on_chain)
        with gc_paused():  # as for snapshot: the restored windows are millions of new containers
            out.engine.load(snapshot.get("engine", {}))
            held = out._held
            held.states = {w["fingerprint"]: warning_from_json(w) for w in snapshot.get("warnings", [])}
            out._chained = int(snapshot.get("chained", 0))
            held.last_values = {fp: dict(v) for fp, v in snapshot.get("values", {}).items() if fp in held.states}
        return out

    def close(self) -> None:
        """Free the engine (durable_rules rulesets)."""
        # The engine holds only the warnings' holder's methods, never this evaluator's: no cycle, so the
        # windows and warnings go when the last reference does, not at a collection that walks them all.
        self.engine.close()
