"""Sharded backtest: the plan of :mod:`rules.run.sharding` run in processes, layer by layer.

``sharded_backtest(rulebook, records)`` returns exactly what :func:`rules.run.backtest.backtest` returns for
the same input. For each layer it runs one shard per district (the layer's district-local rules over
that district's records) and one city shard (the layer's other rules over every record), each in its
own process — durable_rules is single-threaded and not thread-safe, so never threads — then feeds the
``warning`` records the layer chained into the next layer, each at the place it takes in the single
run's stream (right after the record whose firing made it; an absence's right after the first record
of the city past its deadline, looked up only for the absences a later layer may take). At the end the
chained records get the ids the single run gives them (a counter in the order they are made: an absence's
by its deadline) and the explanations are rewritten to match.

A shard gets only the records of the kinds its rules watch, plus one tick at the city's last ``at``
when it holds absences: an absence fires once the watermark passes its deadline, and a shard's own
records may stop earlier than the city's. A shard's watermark lags the city's only between two of its
own records, where none of its warnings can change, so its warnings are those of the single run.

``runner`` maps shard jobs to results: :func:`process_runner` (the default, a process pool),
:func:`inline_runner` (this process: for debugging), or the Prefect/Dask flow in :mod:`flows.sharded`.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from domain.records import Record
from rules.engine.gc_pause import gc_paused
from rules.language.chaining import WARNING_KIND, taken_levels
from rules.language.model import Rule
from rules.run.shard_run import CLOCK_KIND, Chained, Position, ShardJob, ShardResult, run_shard
from rules.run.sharding import ShardPlan, kinds_watched, plan_shards, shard_of

__all__ = ["Clock", "Runner", "assemble", "inline_runner", "layer_jobs", "place", "process_runner", "resolve",
           "sharded_backtest", "taken_by"]

Runner = Callable[[Sequence[ShardJob]], list[ShardResult]]
Clock = Callable[[float], Position | None]
"""Position of the first record of the city with ``at`` (epoch seconds) strictly after the argument."""


def inline_runner(jobs: Sequence[ShardJob]) -> list[ShardResult]:
    """Run the shards one after another in this process."""
    return [run_shard(j) for j in jobs]


def process_runner(workers: int | None = None, inline_below: int = 100_000, context: str | None = None) -> Runner:
    """A runner that runs each shard in a process of a fresh pool (``workers`` default: CPU count;
    ``context``: the multiprocessing start method, default the platform's — pass ``"spawn"`` from a
    process that runs threads).
    A layer whose shards together read fewer than ``inline_below`` records (a layer of clusters fed the
    warnings they may take) runs here instead: starting processes would cost more than the work. A year's
    first cluster layer reads 88,733 warnings in 0.6 s of CPU, all three shards together."""

    def run(jobs: Sequence[ShardJob]) -> list[ShardResult]:
        sizes = [j.size for j in jobs]
        if all(s >= 0 for s in sizes) and sum(sizes) < inline_below:
            return inline_runner(jobs)
        # Largest shards first (the city shard, then by size) so the pool is not left waiting on one big
        # shard at the end.
        order = sorted(range(len(jobs)), key=lambda i: (jobs[i].name != "city", -sizes[i]))
        ctx = multiprocessing.get_context(context)
        # Results are unpickled here (in the pool's thread): a city's year of warnings is millions of new
        # objects, and collections walking them all as they arrive took six times the unpickling itself.
        # The workers never collect either (_quiet_worker).
        with gc_paused(), ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=ctx,
                                              initializer=_quiet_worker) as pool:
            got = dict(zip(order, pool.map(run_shard, [jobs[i] for i in order]), strict=True))
        return [got[i] for i in range(len(jobs))]

    return run


def _quiet_worker() -> None:
    """A pool worker's start: no cyclic garbage collection for its life (one layer's shards). A shard
    pauses it while it runs, but its result is pickled after it returns: a city result of 687,370 warnings
    took 24.0 s to pickle with collection on and 10.4 s with it off, while the next shard waited. A forked
    worker inherits the coordinator's pause; a spawned one (``context="spawn"``) would start with it on."""
    gc.disable()


def _tick(last: Record) -> Record:
    return Record(kind=CLOCK_KIND, source="\uffff", id="", at=last.at, region=last.region)


def layer_jobs(rulebook: Any, plan: ShardPlan, layer: int, engine: str) -> tuple[ShardJob | None, ShardJob]:
    """Empty jobs of one layer: a template for the district shards (``None`` if none) and the city shard,
    each keeping the records of only the chained warnings a later layer's steps may take."""
    index = {r.id: i for i, r in enumerate(rulebook.rules)}
    chain = any(r.record == WARNING_KIND or any(s.record == WARNING_KIND for s in r.steps) for r in rulebook.rules)

    def job(name: str, ids: tuple[str, ...]) -> ShardJob:
        rules = tuple(r for r in rulebook.rules if r.id in ids)
        # Every layer keeps its chained records when the rulebook chains at all, the last one too: the
        # single run numbers every chained record, consumed or not, and explanations show the numbers.
        return ShardJob(name, rules, rulebook.version, rulebook.calendars, index, engine, chain=chain)

    district_ids = plan.ids(layer, "district")
    later = [r for r in rulebook.rules if plan.of(r.id).layer > layer]
    kept = _taken_pairs(rulebook, later)
    return ((replace(job("district", district_ids), kept=kept) if district_ids else None),
            replace(job("city", plan.ids(layer, "city")), kept=kept))


def sharded_backtest(rulebook: Any, records: Iterable[Record], *, runner: Runner | None = None,
                     engine: str = "durable") -> list[dict[str, Any]]:
    """Evaluate ``records`` over ``rulebook`` sharded (module docstring); the output of
    :func:`rules.run.backtest.backtest`: one dict per warning, oldest first."""
    run = runner or process_runner()
    plan = plan_shards(rulebook)
    ordered = sorted((((r.at.timestamp(), r.source, r.id), r) for r in records), key=lambda x: x[0])
    times = [p[0] for p, _ in ordered]

    def clock(after: float) -> Position | None:
        i = bisect_right(times, after)
        return ordered[i][0] if i < len(ordered) else None

    chained: list[tuple[Position, Record]] = []
    results: list[ShardResult] = []
    with gc_paused():  # the coordinator makes no cycles; its warnings and chained records are many objects
        for layer in range(plan.layers):
            template, city = layer_jobs(rulebook, plan, layer, engine)
            jobs: list[ShardJob] = []
            if template is not None:
                watched = kinds_watched(template.rules)
                parts: dict[str, list[tuple[Position, Record]]] = {}
                for item in _merge(ordered, chained, watched, taken_by(rulebook, template.rules)):
                    parts.setdefault(shard_of(item[1].region), []).append(item)
                jobs += [replace(template, name=code, items=items) for code, items in sorted(parts.items())]
            if city.rules:
                jobs.append(replace(city, items=_merge(ordered, chained, kinds_watched(city.rules),
                                                       taken_by(rulebook, city.rules))))
            for j in jobs:
                if ordered and any(r.kind == "absence" for r in j.rules):
                    j.last_at = _tick(ordered[-1][1])
            got = [resolve(res, clock, times[-1] if times else None) for res in run(jobs)]
            results += got
            chained = sorted(chained + place(got), key=lambda x: x[0])
        return assemble(results)


def taken_by(rulebook: Any, rules: Sequence[Rule]) -> Callable[[tuple[Position, Record]], bool]:
    """Whether a chained ``warning`` record could be taken by a step of ``rules``: its rule and level are
    among those the steps' ``where`` admits (:func:`rules.language.chaining.taken_levels`, conservative).
    A shard is given only those: one no step can take changes none of its states — the same argument that
    gives a shard only the kinds its rules watch — and most of a year's warnings are of rules and levels
    no cluster takes (half a million blue deadline warnings, once shipped to every later layer)."""
    pairs = _taken_pairs(rulebook, rules)

    def takes(item: tuple[Position, Record]) -> bool:
        a = item[1].attributes
        return (a.get("rule"), a.get("level")) in pairs

    return takes


def _taken_pairs(rulebook: Any, rules: Sequence[Rule]) -> frozenset[tuple[str, str]]:
    """The ``(rule, level)`` of the warnings a step of ``rules`` may take (conservative)."""
    return frozenset((p.id, lv.value) for r in rules for s in r.steps for p in rulebook.rules
                     for lv in taken_levels(s, p))


def _merge(ordered: Sequence[tuple[Position, Record]], chained: Sequence[tuple[Position, Record]],
           watched: frozenset[str], takes: Callable[[tuple[Position, Record]], bool]) -> list[tuple[Position, Record]]:
    """The records of the watched kinds and the chained warnings ``takes`` admits, in stream order."""
    mine = [x for x in ordered if x[1].kind in watched]
    if WARNING_KIND in watched and chained:
        mine = sorted(mine + [c for c in chained if takes(c)], key=lambda x: x[0])
    return mine


def resolve(result: ShardResult, clock: Clock, last: float | None) -> ShardResult:
    """``result`` with its absences settled: one whose deadline no record passes (none after it: ``last``, the
    time of the stream's last record, ``None`` for no record) never fired in the single run, and is dropped (a
    shard's tick never passes such a one); one a later layer may take (its record came back) gets its trigger,
    the first record past the deadline, from ``clock``, to be placed in that layer's stream. The others keep no
    trigger: :func:`assemble` numbers an absence by its deadline alone. Each fired in the single run just
    before that first record past its deadline, as the engine fires absences (``due < t``, in event seconds)."""
    kept: list[Chained] = []
    for c in result.chained:
        if c.trigger is None:
            if last is None or c.due >= last:
                continue
            if c.taken is not None:
                trigger = clock(c.due)
                if trigger is None:
                    continue
                c = c._replace(trigger=trigger)
        kept.append(c)
    return replace(result, chained=kept)


def place(results: Sequence[ShardResult]) -> list[tuple[Position, Record]]:
    """The chained records of ``results`` (triggers resolved) at their stream positions: those that came
    back with their record, the only ones a later layer may take (:attr:`rules.run.shard_run.ShardJob.kept`)."""
    return [((*c.trigger, c.sub), rec) for res in results for c in res.chained
            if c.trigger is not None and (rec := c.record) is not None]


_PROVISIONAL = re.compile(r"fenghuo/([0-9a-f]+-@\d{9})")


def assemble(results: Sequence[ShardResult]) -> list[dict[str, Any]]:
    """Every shard's warnings as output rows (:func:`rules.run.backtest.warning_row`), oldest first, with the
    chained records' provisional ids replaced by the single run's: a counter in the order they were made (by
    trigger position, then ``sub``)."""
    made = [(_made_at(c), c.id) for res in results for c in res.chained]
    warnings = sorted((w for res in results for w in res.warnings), key=lambda w: (w[0], w[1]))
    if not made:
        return [row for _, _, row in warnings]
    made.sort(key=lambda m: m[0])
    new = {old: f"{old.split('-@')[0]}-{n}" for n, (_, old) in enumerate(made, 1)}
    return [_renamed(row, new) for _, _, row in warnings]


def _made_at(c: Chained) -> tuple[Any, ...]:
    """Where the single run made ``c``: after its trigger record (``sub`` orders what one record made); an
    absence (``sub`` starts with 0) after every record at or before its deadline and before the first one past
    it, whatever its trigger (``at, 0, …`` sorts before ``due, 1, …`` exactly when ``at <= due``)."""
    if c.sub[0] == 0:
        return (c.due, 1, c.sub)
    assert c.trigger is not None
    return (c.trigger[0], 0, c.trigger[1:], c.sub)


def _renamed(row: dict[str, Any], new: dict[str, str]) -> dict[str, Any]:
    if "-@" not in row["explanation"]:
        return row

    def sub(m: re.Match[str]) -> str:
        return "fenghuo/" + new.get(m.group(1), m.group(1))

    return {**row, "explanation": _PROVISIONAL.sub(sub, row["explanation"])}
