"""Sharded backtest from the store: each shard reads its own slice, day by day, in its own process.

:func:`sharded_store_backtest` is :func:`rules.run.sharded.sharded_backtest` for records already in the
store (``FENGHUO_DATABASE_URL``): the coordinator never holds the records. Each shard job carries a
:class:`StoreSlice` — the store URL, the time range, its district (a 6-digit code prefix; ``None`` for
the city shard) and the kinds its rules watch — and reads its records with one indexed range query a
day, merged with the chained warnings of earlier layers that fall on that day. An absence's place in
the stream (the first record of the city past its deadline) is one query (:func:`store_clock`).
With PostgreSQL the shards can run on several machines (:mod:`flows.sharded`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from domain.records import Record
from integrations.store.db import make_engine
from integrations.store.models import RecordRow
from integrations.store.prepared import utc_text
from rules.engine.gc_pause import gc_paused
from rules.language.chaining import WARNING_KIND
from rules.run.backtest import warning_row
from rules.run.shard_run import Position, ShardJob, ShardResult
from rules.run.sharded import Runner, assemble, layer_jobs, place, process_runner, resolve
from rules.run.sharding import kinds_watched, plan_shards

__all__ = ["StoreSlice", "covering", "district_groups", "district_prefixes", "read_items", "read_slice",
           "sharded_store_backtest", "store_clock"]

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]
_COLS = (_REC.c.kind, _REC.c.source, _REC.c.source_id, _REC.c.at, _REC.c.region, _REC.c.attributes, _REC.c.late)
DAY = timedelta(days=1)
SAMPLE_DAYS = 12
"""Days counted to balance runs of districts (:func:`district_prefixes`)."""


try:  # orjson comes with Prefect; parsing attributes is a large share of reading records back
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    from json import loads as _loads  # type: ignore[assignment]

_FIELDS = frozenset(Record.model_fields)
_position = itemgetter(0)
_set = object.__setattr__


def _stored(kind: str, source: str, id: str, at: datetime, region: str, attributes: dict[str, Any],
            late: bool) -> Record:
    """A stored (already validated) record, built the way ``model_construct`` does, at half its cost:
    building Records is the largest part of reading a year back."""
    r = Record.__new__(Record)
    _set(r, "__dict__", {"kind": kind, "source": source, "id": id, "at": at, "region": region,
                         "attributes": attributes, "late": late})
    _set(r, "__pydantic_fields_set__", _FIELDS)
    _set(r, "__pydantic_extra__", None)
    _set(r, "__pydantic_private__", None)
    return r


def _record(row: Any) -> Record:
    # Stored records were validated at ingest: build them without validating again (a third of the cost
    # of reading a year back).
    return Record.model_construct(kind=row.kind, source=row.source, id=row.source_id, at=row.at, region=row.region,
                                  attributes=row.attributes or {}, late=row.late)


def _prefix_range(prefix: str, last: str | None = None) -> tuple[str, str]:
    """Region codes starting with ``prefix`` (or any prefix from ``prefix`` to ``last`` of the same
    length) as a half-open string range."""
    end = last or prefix
    return prefix, end[:-1] + chr(ord(end[-1]) + 1)


def _read_sqlite(session: Session, since: datetime, until: datetime, prefix: str | None,
                 kinds: Sequence[str], last: str | None) -> list[tuple[Position, Record]]:
    """:func:`read_items` on SQLite through the driver: decoding rows by hand (text timestamps, JSON
    attributes) reads twice as fast as the ORM's per-column processors — it is most of a year's cost."""
    # The unary + keeps SQLite off the kind and region indexes: a day of the `at` index is the small
    # range; through the kind index it would scan every day's rows of that kind, every day.
    where = ["at >= ?", "at < ?", f"+kind IN ({', '.join('?' * len(kinds))})"]
    args: list[Any] = [utc_text(since), utc_text(until), *kinds]
    if prefix is not None:
        where += ["+region >= ?", "+region < ?"]
        args += list(_prefix_range(prefix, last))
    # No ORDER BY: the rows are sorted below on the engine's key, which the database cannot compute.
    sql = (f"SELECT kind, source, source_id, at, region, attributes, late FROM {_REC.name} "  # nosec B608  # the table name is a constant; values are bound
           f"WHERE {' AND '.join(where)}")
    parse, loads, stored = datetime.fromisoformat, _loads, _stored
    raw = session.connection().connection.driver_connection
    assert raw is not None
    rows = raw.execute(sql, tuple(args)).fetchall()  # the driver's own cursor: no per-row wrapping
    items: list[tuple[Position, Record]] = []
    add = items.append
    for k, s, i, a, r, attrs, late in rows:
        # The store keeps naive UTC text: parsing it with the offset appended is 5x cheaper than
        # datetime.replace(tzinfo=...), which was a quarter of the cost of decoding a row.
        at = parse(a + "+00:00")
        add(((at.timestamp(), s, i), stored(k, s, i, at, r, loads(attrs) if attrs else {}, bool(late))))
    items.sort(key=_position)
    return items


def read_slice(session: Session, since: datetime, until: datetime, prefix: str | None,
               kinds: Sequence[str], last: str | None = None) -> list[Record]:
    """Records with ``since <= at < until`` of ``kinds`` in the district ``prefix`` (all if ``None``;
    the districts ``prefix`` to ``last`` if ``last`` is given), in the engine's order."""
    with gc_paused():
        return [r for _, r in read_items(session, since, until, prefix, kinds, last)]


def read_items(session: Session, since: datetime, until: datetime, prefix: str | None,
               kinds: Sequence[str], last: str | None = None) -> list[tuple[Position, Record]]:
    """:func:`read_slice` as ``(position, record)`` pairs, sorted by position ``(at, source, id)``:
    Python's order, which the engine and the single run follow whatever the database's collation."""
    with gc_paused():  # a day of rows makes no cycles: do not walk the engine's live state every 700 rows
        if session.get_bind().dialect.name == "sqlite":
            return _read_sqlite(session, since, until, prefix, kinds, last)
        return _read_orm(session, since, until, prefix, kinds, last)


def _read_orm(session: Session, since: datetime, until: datetime, prefix: str | None,
              kinds: Sequence[str], last: str | None) -> list[tuple[Position, Record]]:
    q = sa.select(*_COLS).where(_REC.c.at >= since, _REC.c.at < until, _REC.c.kind.in_(list(kinds)))
    if prefix is not None:
        lo, hi = _prefix_range(prefix, last)
        q = q.where(_REC.c.region >= lo, _REC.c.region < hi)
    items = [((r.at.timestamp(), r.source, r.id), r) for r in map(_record, session.execute(q))]
    items.sort(key=_position)
    return items


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
                            items = sorted(items + list(self.chained[start:ci]), key=_position)
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


def store_clock(session: Session, until: datetime) -> Any:
    """A :data:`rules.run.sharded.Clock` over the store: the first record before ``until`` with ``at``
    after a deadline."""

    def clock(after: float) -> Position | None:
        when = datetime.fromtimestamp(after, UTC)
        first = session.execute(sa.select(sa.func.min(_REC.c.at)).where(_REC.c.at > when, _REC.c.at < until))
        at = first.scalar_one_or_none()
        if at is None:
            return None
        q = sa.select(_REC.c.source, _REC.c.source_id).where(_REC.c.at == at)
        # the first in Python's order, whatever the database's collation
        source, sid = min((row.source, row.source_id) for row in session.execute(q))
        return (at.timestamp(), source, sid)

    return clock


def _last(session: Session, since: datetime, until: datetime) -> Record | None:
    q = (sa.select(*_COLS).where(_REC.c.at >= since, _REC.c.at < until)
         .order_by(_REC.c.at.desc(), _REC.c.source.desc(), _REC.c.source_id.desc()).limit(1))
    row = session.execute(q).first()
    return None if row is None else _record(row)


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
        with Session(store) as session:
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
                    for first, last_p in runs:
                        lo, hi = _prefix_range(first, last_p)
                        mine = tuple(c for c in chained if lo <= c[1].region < hi) if WARNING_KIND in kinds else ()
                        name = first if first == last_p else f"{first}-{last_p}"
                        part = StoreSlice(url, since, until, first, kinds, mine, last=last_p)
                        jobs.append(replace(template, name=name, stream=part))
                if city.rules:
                    kinds = tuple(sorted(kinds_watched(city.rules)))
                    mine = tuple(chained) if WARNING_KIND in kinds else ()
                    jobs.append(replace(city, stream=StoreSlice(url, since, until, None, kinds, mine)))
                for j in jobs:
                    if isinstance(j.stream, StoreSlice) and set(j.stream.kinds) <= {WARNING_KIND}:
                        j.weight = len(j.stream.chained)  # reads nothing from the store
                    if last is not None and any(r.kind == "absence" for r in j.rules):
                        j.last_at = Record.model_construct(kind=CLOCK_KIND, source="\uffff", id="", at=last.at,
                                                           region=last.region, attributes={}, late=False)
                got = [resolve(res, clock) for res in run(jobs)]
                results += got
                chained = sorted(chained + place(got), key=lambda x: x[0])
    finally:
        store.dispose()
    return [warning_row(w) for w in assemble(results)]
