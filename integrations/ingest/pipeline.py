"""The ingest of one source as one object in four steps: fetch a page, map it, store it, advance the cursor.

A page flows through :meth:`IngestPipeline.fetch`, :meth:`~IngestPipeline.map`,
:meth:`~IngestPipeline.store` and :meth:`~IngestPipeline.advance`; :meth:`~IngestPipeline.run` drives them
page by page. The speed work sits here, behind those steps, and nowhere else: the read-ahead
(:mod:`integrations.ingest.ahead`: the next pages fetched, and the next one mapped while this one is
written), the garbage collector paused between pages, and the compiled mapping with its C twins
(:mod:`integrations.ingest.fastmap`, :mod:`integrations.ingest.twins`). The store sees only plain
operations: insert these prepared rows, quarantine these items, set the cursor.

For each page, in ONE transaction: valid items are upserted, invalid ones quarantined with their reason
(the rest of the page goes on), and the cursor moves to the end of the page. A crash between pages loses
nothing and a re-run re-fetches at most the page that was not committed; the upsert makes that
harmless. An unreadable page (cut JSON) is quarantined and fetched again from the same cursor, up to
``max_stalls`` times in a row, then :class:`~integrations.sources.SourceStalled` is raised.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Container
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from operator import attrgetter, itemgetter
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Session

from domain.kinds import RecordKinds
from domain.messages import N_, Message
from integrations.ingest.ahead import ReadAhead
from integrations.ingest.fastmap import CompiledMapping
from integrations.sources.base import DataSource, Page, SourceStalled
from integrations.sources.mapping import Rejection
from integrations.store.db import session_scope
from integrations.store.records import PreparedRecord, UpsertStats, begin_upsert, get_cursor, quarantine, set_cursor
from integrations.store.watermarks import note_delivery
from rules.engine.gc_pause import gc_paused

__all__ = ["IngestPipeline", "IngestReport", "MappedPage"]

_AT = itemgetter(3)
"""A prepared record's event time (:attr:`PreparedRecord.at`)."""
_AT_UTC = itemgetter(9)
"""A prepared record's UTC time text (:attr:`PreparedRecord.at_utc`)."""
_TZINFO = attrgetter("tzinfo")
_COLLECT_EVERY_PAGES = 16
"""Pages between two collections of young garbage during an ingest (the collector is paused between)."""


@dataclass
class IngestReport:
    """What one ingest run of one source did."""

    source: str
    pages: int = 0
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    cursor: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    """How many items were quarantined for each kind of problem (:attr:`Rejection.code`)."""

    @property
    def stored(self) -> int:
        """Records inserted or changed."""
        return self.inserted + self.updated

    def add(self, mapped: MappedPage, stats: UpsertStats, cursor: str | None) -> None:
        """Count a committed page."""
        self.pages += 1
        self.fetched += len(mapped.page.items)
        self.inserted += stats.inserted
        self.updated += stats.updated
        self.unchanged += stats.unchanged
        self.quarantined += len(mapped.rejections)
        for rej in mapped.rejections:
            code = "unparseable_page" if mapped.page.error else rej.code
            self.reasons[code] = self.reasons.get(code, 0) + 1
        self.cursor = cursor


class MappedPage(NamedTuple):
    """A fetched page and what the mapping made of it: prepared records and rejections, in item order."""

    page: Page
    records: list[PreparedRecord]
    rejections: list[Rejection]
    latest: datetime | None
    """The latest event time of ``records`` (``None``: no records), for the source's watermark."""


class IngestPipeline:
    """The ingest of ``source`` into the store at ``engine`` (see the module docstring).

    ``now`` bounds item timestamps from the future (default: the wall clock at each page);
    ``known_regions``, when given, refuses region codes outside it.
    """

    def __init__(
        self,
        engine: sa.Engine,
        source: DataSource,
        *,
        kinds: RecordKinds,
        key: str | bytes,
        now: datetime | None = None,
        page_size: int = 500,
        known_regions: Container[str] | None = None,
    ) -> None:
        self.engine, self.source, self.now, self.page_size = engine, source, now, page_size
        # Compiled once per run; a SQLite store needs each record's UTC time text, written while mapping.
        self._utc_text = engine.dialect.name == "sqlite"
        self.mapping = CompiledMapping(source.config, kinds, key, known_regions=known_regions, utc_text=self._utc_text)

    def fetch(self, cursor: str | None) -> Page:
        """Step 1: the page of the source after ``cursor``."""
        return self.source.fetch(cursor, limit=self.page_size)

    def map(self, page: Page) -> MappedPage:
        """Step 2: the page's items as prepared records or rejections (never raises for an item)."""
        records, rejections = self.mapping.map_page(page.items, self.now or datetime.now(UTC))
        # The watermark's latest time, found here, on the read-ahead's helper thread.
        return MappedPage(page, records, rejections, self._latest(records))

    def _latest(self, records: list[PreparedRecord]) -> datetime | None:
        """The latest event time of ``records``, as ``max`` of their times finds it (the first of equals).

        Two aware datetimes with tzinfo objects of their own (each parsed offset has one) compare by
        calling ``utcoffset`` on both, from C by the method's name: ~0.4 ms a page of 1,000, on the
        helper thread that wants the GIL. Where every time has a fixed offset (``datetime.timezone``:
        wall time and instant order alike, whichever way Python compares) the UTC texts SQLite needs,
        fixed-width, order as the instants do, and are compared instead; a zone with rules (a source's
        configured zone: same-object times compare as wall times) keeps the datetimes' own order.
        """
        if self._utc_text and records and set(map(type, map(_TZINFO, map(_AT, records)))) == {timezone}:
            return max(records, key=_AT_UTC).at
        return max(map(_AT, records), default=None)

    def store(
        self, session: Session, mapped: MappedPage, *, optimistic: bool = False, gate: threading.Event | None = None
    ) -> UpsertStats:
        """Step 3: the page's records upserted and its refused items quarantined, in ``session``.

        ``optimistic``: the records are expected to be new (see
        :func:`~integrations.store.records.upsert_prepared`). ``gate`` is opened once the write is all
        handed to the database: what is left (SQLite's one statement, the end of PostgreSQL's ``COPY``,
        the commit) runs without the GIL, beside the mapping of the next page.
        """
        write = begin_upsert(session=session, records=mapped.records, optimistic=optimistic)
        if gate is not None:
            gate.set()
        stats = write.finish()
        page = mapped.page
        for rej in mapped.rejections:
            reason = Message(N_("整页有误（{error}）：{reason}"), error=page.error, reason=rej.reason) if page.error \
                else rej.reason
            quarantine(
                session=session,
                source=self.source.name,
                page=page.page_ref,
                raw=rej.raw,
                reason=reason,
                source_id=rej.source_id,
            )
        return stats

    def advance(self, session: Session, cursor: str | None) -> None:
        """Step 4: the source's cursor set to ``cursor``, in ``session`` (the page's transaction)."""
        set_cursor(session=session, source=self.source.name, cursor=cursor)

    def stored_cursor(self) -> str | None:
        """Where the last run stopped (``None``: from the start)."""
        with session_scope(self.engine) as session:
            return get_cursor(session=session, source=self.source.name)

    def run(
        self,
        *,
        max_stalls: int = 5,
        progress: Callable[[IngestReport], None] | None = None,
        prefetch: bool = True,
    ) -> IngestReport:
        """Every page from the stored cursor on, each through the four steps and committed; see the module.

        With ``prefetch`` two helper threads read ahead: one fetches the next two pages while this one is
        stored, the other maps the next one while this one's rows are written (SQLite writes a page, and
        PostgreSQL finishes its COPY, without the GIL). It is only a read ahead: the cursor still moves
        page by page after each commit, and an error of a later fetch surfaces after the pages before it
        are committed, as without it. ``progress`` is called with the running report after each commit.
        Raises :class:`~integrations.sources.SourceError` (nothing uncommitted is lost).
        """
        report = IngestReport(self.source.name)
        cursor = report.cursor = self.stored_cursor()
        stalls = 0
        new_only = True

        def mapped_ahead(page: Page, gate: threading.Event) -> MappedPage:
            gate.wait()  # until the page before is being written (see integrations.ingest.ahead)
            return self.map(page)

        ahead = ReadAhead(self.source, cursor, self.page_size, mapped_ahead) if prefetch else None
        # The page's objects die by reference count; the collector would walk the live ones (this page's
        # and the one being mapped) after every page, so it runs every few pages instead (cycles are rare).
        with ahead or nullcontext(), gc_paused():
            while True:
                if report.pages % _COLLECT_EVERY_PAGES == _COLLECT_EVERY_PAGES - 1:
                    gc.collect(1)
                if ahead is not None:
                    mapped, gate = ahead.next()
                else:
                    mapped, gate = self.map(self.fetch(cursor)), None
                next_cursor = mapped.page.next_cursor or cursor
                stats = self._commit(mapped, cursor, next_cursor, new_only, gate)
                # A page that re-delivered records (after an interruption, or a source that repeats its
                # boundary items) makes the next page check its keys first; a page of only new ones lets
                # the next insert them without asking (see upsert_prepared).
                new_only = stats.updated == 0 and stats.unchanged == 0
                report.add(mapped, stats, next_cursor)
                if progress is not None:
                    progress(report)
                if not mapped.page.has_more:
                    return report
                if next_cursor == cursor:
                    stalls += 1
                    if stalls > max_stalls:
                        raise SourceStalled(
                            self.source.name,
                            Message(N_("游标 {cursor} 处连续 {n} 页无法读取；请在隔离区查看对方发来的内容，"
                                       "稍后重新运行接入"), n=stalls, cursor=repr(cursor)),
                        )
                else:
                    stalls = 0
                cursor = next_cursor

    def _commit(
        self,
        mapped: MappedPage,
        cursor: str | None,
        next_cursor: str | None,
        new_only: bool,
        gate: threading.Event | None,
    ) -> UpsertStats:
        """One page stored and the cursor advanced, in one transaction; ``gate`` opened as it is written.

        Every short statement of the page goes before the gate opens, while no helper competes for the
        GIL (once it is open, each return from the database waits for the mapping of the next page to let
        go of it): the cursor, the watermark, the seq numbers and the rows as the insert takes them (on
        PostgreSQL also the writers' lock, the savepoint and the ``COPY``'s rows handed to the driver:
        :func:`~integrations.store.records.begin_upsert`). Opening
        the gate before all of those measured 0.75 of 48e5e48's speed on SQLite, where it opened after them
        (``bench/ingest_ab.py``; 0.92 with this order, bench/README.md).
        """
        try:
            with session_scope(self.engine) as session:
                if next_cursor != cursor:
                    self.advance(session, next_cursor)
                # The source's watermark moves with the page it describes; a pull that reached the end of
                # the source has sent everything up to now (its heartbeat).
                now = self.now or datetime.now(UTC)
                note_delivery(session=session, source=self.source.name, ats=() if mapped.latest is None else
                              (mapped.latest,), drained_at=None if mapped.page.has_more else now, now=now)
                return self.store(session, mapped, optimistic=new_only, gate=gate)
        finally:
            if gate is not None:
                gate.set()  # on an error too: the helper must not wait forever
