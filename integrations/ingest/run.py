"""Ingest: pull one source from its stored cursor, page by page, into the store (no Prefect here).

For each page, in ONE transaction: valid items are upserted, invalid ones quarantined with their reason
(the rest of the page goes on), and the cursor moves to the end of the page. A crash between pages loses
nothing and a re-run re-fetches at most the page that was not committed; the upsert makes that
harmless. An unreadable page (cut JSON) is quarantined and fetched again from the same cursor, up to
``max_stalls`` times in a row, then :class:`~integrations.sources.SourceStalled` is raised.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Callable, Container
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import yaml
from sqlmodel import Session

from domain.kinds import KindsError, RecordKinds
from integrations.ingest.ahead import ReadAhead
from integrations.settings import Settings
from integrations.sources.base import DataSource, Page, SourceStalled
from integrations.sources.factory import build_source, configured_sources
from integrations.sources.fastmap import CompiledMapping
from integrations.sources.mapping import Rejection
from integrations.store.db import session_scope
from integrations.store.records import PreparedRecord, UpsertStats, get_cursor, quarantine, set_cursor, upsert_prepared
from rules.engine.gc_pause import gc_paused

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


def ingest_source(
    engine: sa.Engine,
    source: DataSource,
    *,
    kinds: RecordKinds,
    key: str | bytes,
    now: datetime | None = None,
    page_size: int = 500,
    max_stalls: int = 5,
    known_regions: Container[str] | None = None,
    progress: Callable[[IngestReport], None] | None = None,
    prefetch: bool = True,
) -> IngestReport:
    """Fetch ``source`` from its stored cursor until it has no more; see the module docstring.

    ``now`` bounds item timestamps from the future (default: the wall clock at each page);
    ``progress`` is called with the running report after each committed page. With ``prefetch`` two
    helper threads read ahead (:mod:`integrations.ingest.ahead`): one fetches the next two pages while
    this one is stored, the other maps the next one while this one's rows are written (SQLite writes a
    page, and PostgreSQL finishes its COPY, without the GIL). It is only a read ahead: the cursor still
    moves page by page after each commit, and an error of a later fetch surfaces after the pages before
    it are committed, as without it.
    Raises :class:`~integrations.sources.SourceError` (nothing uncommitted is lost).
    """
    return _ingest(engine, source, kinds, key, now, page_size, max_stalls, known_regions, progress, prefetch)


def _ingest(
    engine: sa.Engine,
    source: DataSource,
    kinds: RecordKinds,
    key: str | bytes,
    now: datetime | None,
    page_size: int,
    max_stalls: int,
    known_regions: Container[str] | None,
    progress: Callable[[IngestReport], None] | None,
    prefetch: bool,
) -> IngestReport:
    report = IngestReport(source.name)
    sqlite = engine.dialect.name == "sqlite"
    # Compiled once per run: the mapping resolves the source's configuration before the first item.
    mapping = CompiledMapping(source.config, kinds, key, known_regions=known_regions, utc_text=sqlite)
    with session_scope(engine) as session:
        cursor = get_cursor(session=session, source=source.name)
    report.cursor = cursor
    stalls = 0
    new_only = True

    def mapped(page: Page) -> tuple[Page, list[PreparedRecord], list[Rejection]]:
        return page, *mapping.map_page(page.items, now or datetime.now(UTC))

    def mapped_ahead(page: Page, gate: threading.Event) -> tuple[Page, list[PreparedRecord], list[Rejection]]:
        gate.wait()  # until the page before is being written (see integrations.ingest.ahead)
        return mapped(page)

    ahead = ReadAhead(source, cursor, page_size, mapped_ahead) if prefetch else None
    # The page's objects die by reference count; the collector would walk the live ones (this page's and
    # the one being mapped) after every page, so it runs every few pages instead (cycles are rare here).
    with ahead or nullcontext(), gc_paused():
        while True:
            if report.pages % _COLLECT_EVERY_PAGES == _COLLECT_EVERY_PAGES - 1:
                gc.collect(1)
            if ahead is not None:
                (page, records, rejections), gate = ahead.next()
            else:
                (page, records, rejections), gate = mapped(source.fetch(cursor, limit=page_size)), None
            next_cursor = page.next_cursor or cursor
            try:
                with session_scope(engine) as session:
                    # SQLite writes a page's rows in one call without the GIL, and PostgreSQL finishes a
                    # COPY of them after the driver has them: the next page is mapped meanwhile.
                    early = gate.set if gate is not None else None
                    if next_cursor != cursor:
                        # Written first (the same transaction), while no helper competes for the GIL:
                        # after the gate opens, each call into the database waits for the mapping.
                        set_cursor(session=session, source=source.name, cursor=next_cursor)
                    stats = _store_page(session, source.name, page, records, rejections, new_only, early)
                    if gate is not None:
                        gate.set()  # at the latest as the commit starts (it runs without the GIL)
            finally:
                if gate is not None:
                    gate.set()  # on an error too: the helper must not wait forever
            # A page that re-delivered records (after an interruption, or a source that repeats its boundary
            # items) makes the next page check its keys first; a page of only new ones lets the next insert
            # them without asking (see upsert_prepared).
            new_only = stats.updated == 0 and stats.unchanged == 0
            _count(report, page, stats, rejections, next_cursor)
            if progress is not None:
                progress(report)
            if not page.has_more:
                return report
            if next_cursor == cursor:
                stalls += 1
                if stalls > max_stalls:
                    raise SourceStalled(
                        source.name,
                        f"{stalls} unreadable pages in a row at cursor {cursor!r}; "
                        "see the quarantine for what it sent, and run the ingest again later",
                    )
            else:
                stalls = 0
            cursor = next_cursor


def _count(
    report: IngestReport, page: Page, stats: UpsertStats, rejections: list[Rejection], cursor: str | None
) -> None:
    """Add a committed page to ``report``."""
    report.pages += 1
    report.fetched += len(page.items)
    report.inserted += stats.inserted
    report.updated += stats.updated
    report.unchanged += stats.unchanged
    report.quarantined += len(rejections)
    for rej in rejections:
        code = "unparseable_page" if page.error else rej.code
        report.reasons[code] = report.reasons.get(code, 0) + 1
    report.cursor = cursor


def _store_page(
    session: Session,
    name: str,
    page: Page,
    records: list[PreparedRecord],
    rejections: list[Rejection],
    new_only: bool,
    before_write: Callable[[], None] | None,
) -> UpsertStats:
    """A page's records upserted and its refused items quarantined, in ``session``."""
    stats = upsert_prepared(session=session, records=records, optimistic=new_only, before_write=before_write)
    for rej in rejections:
        reason = f"{page.error}: {rej.reason}" if page.error else rej.reason
        quarantine(
            session=session, source=name, page=page.page_ref, raw=rej.raw, reason=reason, source_id=rej.source_id
        )
    return stats


_KINDS_KEY = re.compile(rb"^kinds\s*:", re.MULTILINE)


def load_kinds(rulebook: Path) -> RecordKinds:
    """The record kinds of the rulebook at ``rulebook``: ``load_rulebook([rulebook]).kinds``, without
    parsing and validating every rule file (a tenth of a second per ingest task).

    The loader's lookup in the usual case — no kinds file among the rule files, so ``kinds.yaml`` in the
    rulebook folder, else in its parent — is done here; anything else (a kinds file under another
    name, or one that does not load) goes through the loader itself, so the result is always its own.
    """
    from rules.language.files import yaml_files

    inside = [p for p in yaml_files([rulebook]) if p.is_file() and _KINDS_KEY.search(p.read_bytes())]
    folder = rulebook if rulebook.is_dir() else rulebook.parent
    for candidate in (folder / "kinds.yaml", rulebook.parent / "kinds.yaml"):
        if candidate.is_file() and (not inside or inside == [candidate]):
            try:
                return RecordKinds.load(candidate)
            except (KindsError, yaml.YAMLError, UnicodeDecodeError, OSError):
                break  # the loader reports it its own way
    from rules.language.loader import load_rulebook  # only now: importing the rule language costs time too

    return load_rulebook([rulebook], rulebook).kinds


def build_sources(settings: Settings, names: list[str] | None = None, **kw: object) -> list[DataSource]:
    """The sources of ``settings.sources_file`` (default: the simulator's departments); close them after use.

    ``names`` picks some (in file order). Extra keyword arguments go to every REST source
    (``transport``, ``sleep``… in tests). Raises ``SourcesFileError`` for a broken file.
    """
    specs = configured_sources(settings).specs
    return [build_source(s, settings, **kw) for s in specs if names is None or s.name in names]


def ingest_all(
    engine: sa.Engine,
    sources: list[DataSource],
    *,
    kinds: RecordKinds,
    key: str | bytes,
    now: datetime | None = None,
    page_size: int = 500,
) -> list[IngestReport]:
    """Ingest every source in turn (a convenience for the demo; flows run sources as separate tasks)."""
    return [ingest_source(engine, s, kinds=kinds, key=key, now=now, page_size=page_size) for s in sources]
