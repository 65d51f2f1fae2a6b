"""Ingest: pull one source from its stored cursor, page by page, into the store (no Prefect here).

For each page, in ONE transaction: valid items are upserted, invalid ones quarantined with their reason
(the rest of the page goes on), and the cursor moves to the end of the page. A crash between pages loses
nothing and a re-run re-fetches at most the page that was not committed; the upsert makes that
harmless. An unreadable page (cut JSON) is quarantined and fetched again from the same cursor, up to
``max_stalls`` times in a row, then :class:`~integrations.sources.SourceStalled` is raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import yaml

from domain.kinds import KindsError, RecordKinds
from domain.repo.records import PreparedRecord, UpsertStats, get_cursor, quarantine, set_cursor, upsert_prepared
from domain.store import session_scope
from integrations.settings import Settings
from integrations.sources.base import DataSource, Page, SourceStalled
from integrations.sources.factory import build_source, configured_sources
from integrations.sources.fastmap import CompiledMapping
from integrations.sources.mapping import Rejection


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
    ``progress`` is called with the running report after each committed page. With ``prefetch`` the
    next page is fetched and mapped in a background thread while this one is stored (network and
    SQLite release the GIL); it is only a read ahead: the cursor still moves page by page after each
    commit, and an error of the next fetch surfaces after this page is committed, as without it.
    Raises :class:`~integrations.sources.SourceError` (nothing uncommitted is lost).
    """
    with ThreadPoolExecutor(1, thread_name_prefix=f"fetch-{source.name}") if prefetch else nullcontext() as pool:
        return _ingest(engine, source, kinds, key, now, page_size, max_stalls, known_regions, progress, pool)


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
    pool: ThreadPoolExecutor | None,
) -> IngestReport:
    report = IngestReport(source.name)
    # Compiled once per run: the mapping resolves the source's configuration before the first item.
    mapping = CompiledMapping(source.config, kinds, key, known_regions=known_regions)
    with session_scope(engine) as session:
        cursor = get_cursor(session=session, source=source.name)
    report.cursor = cursor
    stalls = 0

    def fetch_and_map(at: str | None) -> tuple[Page, list[PreparedRecord], list[Rejection]]:
        # Mapping (and hashing) is pure, so it may run ahead in the fetch thread, overlapping the store's work.
        page = source.fetch(at, limit=page_size)
        records, rejections = mapping.map_page(page.items, now or datetime.now(UTC))
        return page, records, rejections

    ahead: Future[tuple[Page, list[PreparedRecord], list[Rejection]]] | None = None
    while True:
        page, records, rejections = ahead.result() if ahead is not None else fetch_and_map(cursor)
        ahead = None
        if pool is not None and page.has_more:
            ahead = pool.submit(fetch_and_map, page.next_cursor or cursor)
        next_cursor = page.next_cursor or cursor
        with session_scope(engine) as session:
            stats = upsert_prepared(session=session, records=records) if records else UpsertStats()
            for rej in rejections:
                reason = f"{page.error}: {rej.reason}" if page.error else rej.reason
                quarantine(
                    session=session,
                    source=source.name,
                    page=page.page_ref,
                    raw=rej.raw,
                    reason=reason,
                    source_id=rej.source_id,
                )
            if next_cursor != cursor:
                set_cursor(session=session, source=source.name, cursor=next_cursor)
        report.pages += 1
        report.fetched += len(page.items)
        report.inserted += stats.inserted
        report.updated += stats.updated
        report.unchanged += stats.unchanged
        report.quarantined += len(rejections)
        for rej in rejections:
            code = "unparseable_page" if page.error else rej.code
            report.reasons[code] = report.reasons.get(code, 0) + 1
        report.cursor = next_cursor
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


_KINDS_KEY = re.compile(rb"^kinds\s*:", re.MULTILINE)


def load_kinds(rulebook: Path) -> RecordKinds:
    """The record kinds of the rulebook at ``rulebook``: ``load_rulebook([rulebook]).kinds``, without
    parsing and validating every rule file (a tenth of a second per ingest task).

    The loader's lookup in the usual case — no kinds file among the rule files, so ``kinds.yaml`` in the
    rulebook folder, else in its parent — is done here; anything else (a kinds file under another
    name, or one that does not load) goes through the loader itself, so the result is always its own.
    """
    from rules.files import yaml_files

    inside = [p for p in yaml_files([rulebook]) if p.is_file() and _KINDS_KEY.search(p.read_bytes())]
    folder = rulebook if rulebook.is_dir() else rulebook.parent
    for candidate in (folder / "kinds.yaml", rulebook.parent / "kinds.yaml"):
        if candidate.is_file() and (not inside or inside == [candidate]):
            try:
                return RecordKinds.load(candidate)
            except (KindsError, yaml.YAMLError, UnicodeDecodeError, OSError):
                break  # the loader reports it its own way
    from rules.loader import load_rulebook  # only now: importing the rule language costs time too

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
