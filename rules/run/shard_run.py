"""One shard of a sharded evaluation: a subset of the rules over a slice of the stream, in one process.

A :class:`ShardJob` is plain picklable data (rules, the full rulebook's version and calendars, the
input) so it can go to a process pool or a Dask worker; :func:`run_shard` runs it and returns the
shard's warnings and, when later layers need them, the ``warning`` records its firings chain, each
with where it enters the single run's stream (see :mod:`rules.run.sharded` for how positions are used).

Positions. A departmental record sits at ``(at, source, id)`` (``at`` as epoch seconds). A chained
warning sits right after the record whose firing made it: ``(trigger, sub)`` where ``sub`` orders the
firings of one record as the engine does — due absences first by ``(deadline, rule index)``, then the
record's own firings by rule index (the index in the FULL rulebook, so shards agree). An absence's
trigger is the first record of the whole city past its deadline, which a shard cannot see: its
trigger is left as ``None`` for the coordinator to resolve from the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from domain.records import Record
from domain.warnings import Change, Firing, WarningState
from rules.engine.engines import DurableEngine, ReferenceEngine
from rules.engine.gc_pause import gc_paused
from rules.engine.open_warnings import OpenWarnings
from rules.language.chaining import WARNING_KIND
from rules.language.model import Rule
from rules.run.backtest import warning_row
from rules.run.sharding import kinds_watched

__all__ = ["CLOCK_KIND", "Chained", "Position", "ShardJob", "ShardResult", "ShardRow", "SubRulebook", "run_shard",
           "shard_row"]

Position = tuple[Any, ...]
"""``(at, source, id)`` for a record; ``trigger + (sub,)`` for a chained warning."""

CLOCK_KIND = "fenghuo-clock"
"""Kind of the tick record that brings a shard's watermark to the city's last ``at`` (no rule watches it)."""

WARNING_SOURCE = "fenghuo"  # rules.engine.evaluate.WARNING_SOURCE: the source of chained warning records


@dataclass(frozen=True)
class SubRulebook:
    """A subset of a rulebook's rules, stamped with the FULL rulebook's version (RulebookLike)."""

    rules: tuple[Rule, ...]
    version: str
    calendars: Any = None


class Chained(NamedTuple):
    """A ``warning`` record a shard's firing chained, with its place in the single run's stream.

    A tuple, not a dataclass: a year's city shard sends back hundreds of thousands while the next shard waits
    on its process, and a dataclass instance's attribute dict is made on its first pickling (four times the
    cost of pickling the entries once it exists), then rebuilt one object at a time on the other side."""

    trigger: Position | None
    """Position of the record whose firing made it; ``None`` for an absence (resolve from ``due``)."""
    sub: tuple[int, float, int, str]
    due: float
    id: str
    """The record's provisional id (renumbered by :func:`rules.run.sharded.assemble`)."""
    taken: tuple[datetime, str, str, str] | None = None
    """The record's ``at``, region, rule and level, when a later layer may take it (:attr:`ShardJob.kept`);
    else only its place and id travel back: every chained record is numbered, few are read again. Values,
    not the record: a year's city shard sends back hundreds of thousands while the next shard waits on its
    process, and the entries pickled at 1.5–2.5 times the cost with records as with their values."""

    @property
    def record(self) -> Record | None:
        """The chained ``warning`` record, when a later layer may take it (see :attr:`taken`)."""
        if self.taken is None:
            return None
        at, region, rule, level = self.taken
        return Record(kind=WARNING_KIND, source=WARNING_SOURCE, id=self.id, at=at, region=region,
                      attributes={"rule": rule, "level": level})


@dataclass
class ShardJob:
    """What one shard process needs. ``items`` are ``(position, record)`` in position order, or
    ``stream`` (a picklable callable) yields lists of them, chunk by chunk, in position order."""

    name: str
    rules: tuple[Rule, ...]
    version: str
    calendars: Any
    rule_index: dict[str, int]
    engine: str = "durable"
    chain: bool = False
    """Whether later layers consume this layer's warnings (keep the chained records)."""
    items: list[tuple[Position, Record]] = field(default_factory=list)
    stream: Callable[[], Iterable[list[tuple[Position, Record]]]] | None = None
    last_at: Record | None = None
    """A tick record at the city's last ``at``, when the shard has absences to bring due."""
    weight: int = -1
    """Records the shard will read, if known (``-1``: unknown, assume many); runners use it to keep
    small shards (later layers, fed a few warnings) out of process pools."""
    kept: frozenset[tuple[str, str]] | None = None
    """The ``(rule, level)`` of the chained warnings a later layer may take: only those come back with their
    record's values (:attr:`Chained.taken`); ``None``: every one does."""

    @property
    def size(self) -> int:
        """:attr:`weight`, else the number of ``items`` when there is no ``stream``, else ``-1``."""
        if self.weight >= 0:
            return self.weight
        return len(self.items) if self.stream is None else -1


ShardRow = tuple[float, str, dict[str, Any]]
"""A shard's warning as it travels back: ``(first_at as epoch seconds, fingerprint, output row)`` — the row of
:func:`rules.run.backtest.warning_row`, what a sharded backtest returns, with the key it is sorted on."""


def shard_row(state: WarningState) -> ShardRow:
    """``state`` as a :data:`ShardRow`. A year's city shard sends back half a million warnings while the next
    shard waits on its process: rows of plain text pickle about five times faster than the states."""
    row = warning_row(state)
    row["explanation"] = str(row["explanation"])  # the text, not its Message tree (ten times the pickle)
    return state.first_at.timestamp(), state.fingerprint, row


@dataclass
class ShardResult:
    """What a shard returns: its warnings (open at the end) and its chained records."""

    name: str
    warnings: list[ShardRow]
    """The shard's warnings open at the end, as rows (:func:`shard_row`)."""
    chained: list[Chained]
    records: int
    cpu: float = 0.0
    """CPU seconds the shard took in its process (for a run's report: where the time went)."""
    span: tuple[float, float] = (0.0, 0.0)
    """When the shard started and ended, as epoch seconds of the machine's clock (for a run's report: how
    long its results took to come back, what waited on what)."""


def _chunks(job: ShardJob) -> Iterator[list[tuple[Position, Record]]]:
    if job.stream is not None:
        yield from job.stream()
    else:
        yield job.items
    if job.last_at is not None:
        tick = job.last_at
        yield [((tick.at.timestamp(), "\uffff", ""), tick)]


def run_shard(job: ShardJob) -> ShardResult:
    """Evaluate ``job`` (see :class:`ShardJob`); returns its warnings and chained records."""
    started, began = time.process_time(), time.time()
    book = SubRulebook(job.rules, job.version, job.calendars)
    engine = DurableEngine(book) if job.engine == "durable" else ReferenceEngine(book)
    kinds = {r.id: r.kind for r in job.rules}
    index = job.rule_index
    # A shard's warnings are read only at its end: firings that merely update one fold in place.
    held = OpenWarnings(in_place=True)
    engine.quiet, engine.absorb = held.quiet, held.absorb
    chained: list[Chained] = []
    chunk: list[tuple[Position, Record]] = []
    where: dict[int, Position] | None = None
    seen = 0
    kept = job.kept
    warned = WARNING_KIND in kinds_watched(job.rules)

    def emit(record: Record, firings: list[Firing]) -> Sequence[Record]:
        for f in firings:
            state, change = held.fold(f)
            if not job.chain or change is Change.updated:
                continue
            due = f.at.timestamp()
            if kinds[f.rule] == "absence":
                trigger, sub = None, (0, due, index[f.rule], f.records[0] if f.records else "")
            else:
                trigger, sub = position(record), (1, 0.0, index[f.rule], "")
            # The id is provisional: rules.run.sharded renumbers it as the single run's counter would.
            ident, level = f"{state.fingerprint}-@{len(chained):09d}", state.level.value
            taken = (f.at, state.region, state.rule, level) if kept is None or (state.rule, level) in kept else None
            chained.append(Chained(trigger, sub, due, ident, taken))
        return ()  # a layer never consumes its own warnings: later layers get them

    def position(record: Record) -> Position:
        # A departmental record (or the tick) sits at (at, source, id), read off the record; only a chained
        # warning's place must be looked up. Mapping every record of a day cost more than all the lookups.
        nonlocal where
        if record.kind != WARNING_KIND:
            return (record.at.timestamp(), record.source, record.id)
        if where is None:
            where = {id(r): p for p, r in chunk if r.kind == WARNING_KIND}
        return where[id(record)]

    # Paused for the whole shard, not chunk by chunk: after each resume the first collection walks every
    # object the chunk left alive (~80 ms a day in the city shard), and a backtest makes almost no cyclic
    # garbage (a few hundred objects a week) for collection to find. Paused until the engine's state is
    # gone too: a collection at the end would walk all of it first (seconds for a month of windows).
    with gc_paused():
        try:
            for chunk in _chunks(job):
                where = None
                seen += len(chunk)
                # A departmental record's position starts with its time; a chained warning's with its
                # trigger's place, not its own time: those chunks let the engine read the times itself.
                times = None if warned else [p[0] for p, _ in chunk]
                engine.process([r for _, r in chunk], emit, times)
        finally:
            held.settle()
            engine.close()
        warnings = [shard_row(w) for w in held.in_order()]
        del engine  # its state freed by reference counting, while collection is still paused
    return ShardResult(job.name, warnings, chained, seen, time.process_time() - started, (began, time.time()))
