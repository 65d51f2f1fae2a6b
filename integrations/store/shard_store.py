"""Sharded backtest from the store: each shard reads its own slice, day by day, in its own process.

:func:`sharded_store_backtest` is :func:`rules.run.sharded.sharded_backtest` for records already in the
store (``FENGHUO_DATABASE_URL``): the coordinator never holds the records. Each shard job carries a
:class:`StoreSlice` — the store URL, the time range, its district (a 6-digit code prefix; ``None`` for
the city shard) and the kinds its rules watch — and reads its records with one indexed range query a
day, merged with the chained warnings of earlier layers that fall on that day. An absence's place in
the stream (the first record of the city past its deadline) is read by :func:`store_clock`.
With PostgreSQL the shards can run on several machines (:mod:`flows.sharded`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from domain.records import Record
from integrations.store.db import make_engine
from integrations.store.models import RecordRow
from integrations.store.slice_reads import position_key, prefix_range, read_items, read_slice
from integrations.store.store_clock import store_clock
from integrations.store.stored_records import RECORD_COLUMNS, stored_record
from rules.engine.gc_pause import gc_paused
from rules.language.chaining import WARNING_KIND
from rules.run.shard_run import Position, ShardJob, ShardResult
from rules.run.sharded import Runner, assemble, layer_jobs, place, process_runner, resolve, taken_by
from rules.run.sharding import kinds_watched, plan_shards

__all__ = ["StoreSlice", "covering", "district_groups", "district_prefixes", "read_items", "read_slice",
           "sharded_store_backtest", "store_clock"]  # read_items and read_slice: from slice_reads

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]
DAY = timedelta(days=1)
SAMPLE_DAYS = 12
"""Days counted to balance runs of districts (:func:`district_prefixes`)."""


@dataclass(frozen=True)
class StoreSlice:
    """A shard's input read from the store day by day (picklable: goes to the shard's process)."""

    url: str
    since: datetime
    until: datetime
    prefix: str | None
    kinds: tuple[str, ...]
    chained: tuple[tuple[Position, Record], ...] = ()
    """Chained warnings of earlier layers for this shard, in position order."""
    step: timedelta = DAY
    last: str | None = None
    """The last district of a group of districts ``prefix`` .. ``last`` (``None``: ``prefix`` alone)."""

    def __call__(self) -> Iterator[list[tuple[Position, Record]]]:
        """Chunks of ``(position, record)``, a day each, in stream order."""
        engine = make_engine(self.url)
        kinds = [k for k in self.kinds if k != WARNING_KIND]
        ci = 0
        try:
            with Session(engine) as session:
                t = self.since
                while t < self.until:
                    u = min(t + self.step, self.until)
                    end, start = u.timestamp(), ci
                    while ci < len(self.chained) and self.chained[ci][0][0] < end:
                        ci += 1
                    with gc_paused():  # a day's chunk makes no cycles (see gc_paused); never paused at yield
                        items = read_items(session, t, u, self.prefix, kinds, self.last) if kinds else []
                        if ci > start:  # two sorted runs: the sort merges them
                            items = sorted(items + list(self.chained[start:ci]), key=position_key)
                    if items:
                        yield items
                    t = u
        finally:
            engine.dispose()


def district_prefixes(session: Session, since: datetime, until: datetime, *,
                      sample: int | None = None) -> dict[str, int]:
    """The 6-digit prefixes (districts, or a city's own code) of the records in the range, in order,
    with their numbers of records; with ``sample``, counted over at most that many days spread evenly
    over the range (a year's full count steps through every row: 40 s before any shard starts)."""
    prefix = sa.func.substr(_REC.c.region, 1, 6)
    spans = [(since, until)]
    days = (until - since) / DAY
    if sample is not None and days > sample:
        gap = (until - since - DAY) / max(sample - 1, 1)
        spans = [(since + i * gap, since + i * gap + DAY) for i in range(sample)]
    sizes: dict[str, int] = {}
    for lo, hi in spans:
        q = sa.select(prefix, sa.func.count()).where(_REC.c.at >= lo, _REC.c.at < hi).group_by(prefix)
        for p, n in session.execute(q):
            sizes[str(p)] = sizes.get(str(p), 0) + int(n)
    return dict(sorted(sizes.items()))


def covering(runs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``runs`` of district prefixes widened to cover every 6-digit prefix, neighbours touching:
    the first from ``000000``, each to just before the next one's first, the last to ``999999``.
    Groups made from a sample then still read every record: a district the sample missed falls in
    the group around it (district-local rules give the same warnings in any grouping)."""
    if not runs:
        return [("000000", "999999")]
    firsts = ["000000", *(first for first, _ in runs[1:])]
    lasts = [f"{int(first) - 1:06d}" for first, _ in runs[1:]] + ["999999"]
    return list(zip(firsts, lasts, strict=True))


def district_groups(sizes: dict[str, int], groups: int | None) -> list[tuple[str, str]]:
    """The districts of ``sizes`` (:func:`district_prefixes`) in at most ``groups`` runs of neighbours
    with about as many records each, as ``(first, last)``; one per district when ``groups`` is ``None``.

    District-local rules never join records of two districts, so one engine over a run of districts
    gives each district's warnings; fewer shards each read the day's index range fewer times (with no
    region-and-time index, every shard steps through the whole day's rows to find its own)."""
    names = list(sizes)
    if groups is None or groups >= len(names):
        return [(p, p) for p in names]
    total = sum(sizes.values()) or 1
    runs: dict[int, list[str]] = {}
    seen = 0
    for p in names:
        # the run whose share of the records holds this district's middle record
        runs.setdefault(min(groups - 1, int((seen + sizes[p] / 2) * groups / total)), []).append(p)
        seen += sizes[p]
    return [(run[0], run[-1]) for _, run in sorted(runs.items())]


def _last(session: Session, since: datetime, until: datetime) -> Record | None:
    q = (sa.select(*RECORD_COLUMNS).where(_REC.c.at >= since, _REC.c.at < until)
         .order_by(_REC.c.at.desc(), _REC.c.source.desc(), _REC.c.source_id.desc()).limit(1))
    row = session.execute(q).first()
    return None if row is None else stored_record(row)


def sharded_store_backtest(rulebook: Any, url: str, since: datetime, until: datetime, *,
                           runner: Runner | None = None, engine: str = "durable",
                           groups: int | None = None) -> list[dict[str, Any]]:
    """Backtest the records of the store at ``url`` with ``since <= at < until``, sharded; the output of
    :func:`rules.run.backtest.backtest` over the same records. ``groups``: at most that many district
    shards a layer, each a run of districts (:func:`district_groups`); default one per district."""
    from rules.run.shard_run import CLOCK_KIND

    run = runner or process_runner()
    plan = plan_shards(rulebook)
    store = make_engine(url)
    results: list[ShardResult] = []
    chained: list[tuple[Position, Record]] = []
    try:
        # paused in the coordinator throughout: it makes no cycles, and a year's warnings and chained records
        # arriving from the shards are millions of objects every collection would walk (see gc_paused)
        with gc_paused(), Session(store) as session:
            if groups is None:  # one shard per district: every district, counted
                runs = district_groups(district_prefixes(session, since, until), None)
            else:  # runs of districts balanced on a sample of days, together covering every district
                runs = covering(district_groups(district_prefixes(session, since, until, sample=SAMPLE_DAYS),
                                                groups))
            last = _last(session, since, until)
            clock = store_clock(session, until)
            for layer in range(plan.layers):
                template, city = layer_jobs(rulebook, plan, layer, engine)
                jobs: list[ShardJob] = []
                if template is not None:
                    kinds = tuple(sorted(kinds_watched(template.rules)))
                    takes = taken_by(rulebook, template.rules)
                    for first, last_p in runs:
                        lo, hi = prefix_range(first, last_p)
                        mine = (tuple(c for c in chained if lo <= c[1].region < hi and takes(c))
                                if WARNING_KIND in kinds else ())
                        name = first if first == last_p else f"{first}-{last_p}"
                        part = StoreSlice(url, since, until, first, kinds, mine, last=last_p)
                        jobs.append(replace(template, name=name, stream=part))
                if city.rules:
                    kinds = tuple(sorted(kinds_watched(city.rules)))
                    takes = taken_by(rulebook, city.rules)
                    mine = tuple(c for c in chained if takes(c)) if WARNING_KIND in kinds else ()
                    jobs.append(replace(city, stream=StoreSlice(url, since, until, None, kinds, mine)))
                for j in jobs:
                    if isinstance(j.stream, StoreSlice) and set(j.stream.kinds) <= {WARNING_KIND}:
                        j.weight = len(j.stream.chained)  # reads nothing from the store
                    if last is not None and any(r.kind == "absence" for r in j.rules):
                        j.last_at = Record.model_construct(kind=CLOCK_KIND, source="\uffff", id="", at=last.at,
                                                           region=last.region, attributes={}, late=False)
                got = [resolve(res, clock, None if last is None else last.at.timestamp()) for res in run(jobs)]
                results += got
                chained = sorted(chained + place(got), key=lambda x: x[0])
            return assemble(results)
    finally:
        store.dispose()
