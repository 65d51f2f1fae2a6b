"""What one page of new records costs the store: the statements sent per page, on both backends.

On a machine whose cores are shared, every return from the database is a wait for a core, and a statement
built by SQLAlchemy each page costs more CPU than it runs: the ingest stayed within 10% of 48e5e48's speed
only once the watermark's upsert went out as plain SQL and the notification rode the seq query
(``bench/ingest_ab.py``). These bounds make a statement added to the page's path a decision, not a drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from domain.kinds import RecordKinds
from integrations.ingest.pipeline import IngestPipeline
from integrations.sources import DEPARTMENTS, FakeSource, RawItem

KEY = "test-key"
CFG = next(c for c in DEPARTMENTS if c.kind == "incident")
PAGE = 5

PER_PAGE = {
    # BEGIN, the cursor's upsert, the watermark's upsert, the highest seq, the rows (one statement), COMMIT
    "sqlite": 6,
    # the pool's ping, the cursor's upsert, the watermark's upsert, the writers' lock, SAVEPOINT, the highest
    # seq with the notification, the COPY, RELEASE SAVEPOINT, the commit (psycopg sends BEGIN by itself)
    "postgresql": 9,
}


def _items(start: int, n: int) -> list[RawItem]:
    return [
        {"id": f"SJ-{i}", "occurred_at": "2026-01-05T01:00:00+08:00", "region_code": "510104001001001",
         "category": "fire"}
        for i in range(start, start + n)
    ]


@contextmanager
def _counting(engine: sa.Engine) -> Iterator[list[str]]:
    """Every statement the driver is asked to run (SQLAlchemy's and those sent straight through it)."""
    sent: list[str] = []
    if engine.dialect.name == "sqlite":
        def traced(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.set_trace_callback(sent.append)

        engine.dispose()  # new connections, each traced from its start
        sa.event.listen(engine, "connect", traced)
        try:
            yield sent
        finally:
            sa.event.remove(engine, "connect", traced)
            engine.dispose()
        return
    import psycopg

    real_execute, real_copy, real_commit = psycopg.Cursor.execute, psycopg.Cursor.copy, psycopg.Connection.commit

    def execute(self: Any, query: Any, *args: Any, **kw: Any) -> Any:
        sent.append(str(query))
        return real_execute(self, query, *args, **kw)

    def copy(self: Any, statement: Any, *args: Any, **kw: Any) -> Any:
        sent.append(str(statement))
        return real_copy(self, statement, *args, **kw)

    def commit(self: Any) -> None:
        sent.append("COMMIT")
        real_commit(self)

    mp = pytest.MonkeyPatch()
    mp.setattr(psycopg.Cursor, "execute", execute)
    mp.setattr(psycopg.Cursor, "copy", copy)
    mp.setattr(psycopg.Connection, "commit", commit)
    try:
        yield sent
    finally:
        mp.undo()


def _run(engine: sa.Engine, kinds: RecordKinds, start: int, pages: int) -> tuple[list[str], list[str]]:
    source = FakeSource(CFG, _items(0, start + pages * PAGE))
    pipeline = IngestPipeline(engine, source, kinds=kinds, key=KEY, page_size=PAGE)
    compiled: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        if context is not None and context.compiled is not None:
            compiled.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        with _counting(engine) as sent:
            report = pipeline.run(prefetch=False)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert report.inserted == pages * PAGE
    return sent, [s for s in compiled if "SAVEPOINT" not in s]  # SQLAlchemy's own savepoints, cached


def test_a_page_of_new_records_costs_a_bounded_number_of_statements(engine: sa.Engine, kinds: RecordKinds) -> None:
    _run(engine, kinds, 0, 1)  # the first page: the source's first rows (cursor, watermark) exist from here
    two, built_two = _run(engine, kinds, PAGE, 2)
    six, built_six = _run(engine, kinds, 3 * PAGE, 6)
    per_page = (len(six) - len(two)) / 4  # the run's own statements (its cursor read…) cancel out
    assert per_page == PER_PAGE[engine.dialect.name], [s[:60] for s in six[len(two):]]
    # Plain SQL on the page's path: a statement SQLAlchemy builds and compiles there each page costs more
    # CPU than the database takes to run it (the watermark's did: 0.75 ms a page, on the writer's path).
    assert built_six == built_two
