"""Writing new record rows in bulk: the insert half of :func:`~integrations.store.records.upsert_prepared`.

New rows go in as ready tuples through the DBAPI, skipping SQLAlchemy's per-row parameter processing.
On SQLite a batch is one statement of many rows rather than an ``executemany``: the sqlite3 module
releases the GIL once for the whole statement instead of once per row, so the ingest's mapping of its
next page runs beside it on the other core (a thread that must take the GIL back after every row waits
for the mapping each time, and both crawl). Statements come in sizes that are powers of two, the unused
rows bound with a NULL source, which ``INSERT OR IGNORE`` skips (it breaks NOT NULL): a handful of
prepared statements — about a megabyte for a thousand rows — serve every batch size. Binding is most of
what the insert does while holding the GIL, so the rows hold only what sqlite3 binds without looking for
an adapter: str, int and float (a bool or a ``None`` costs it two failed attribute lookups).
PostgreSQL takes a batch by ``COPY … FROM STDIN`` (:mod:`integrations.store.record_copy`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from domain.messages import N_, Message
from integrations.store.columns import utcnow
from integrations.store.models import AwareDateTime, RecordRow
from integrations.store.prepared import PreparedRecord, utc_text

__all__ = [
    "INSERT_COLS",
    "SEQ_LOCK",
    "ConcurrentWrite",
    "PendingInsert",
    "begin_insert_if_all_new",
    "bind_conversion",
    "bound_now",
    "copy_rows",
    "execute_insert",
    "insert_rows",
    "insert_sql",
    "max_seq",
]

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]
SEQ_LOCK = 0x0F3B_0001
"""The PostgreSQL advisory lock serialising ``seq`` allocation between writers (held to the commit)."""
_MAX_ROWS_PER_STATEMENT = 2048
"""Rows per SQLite statement at most (its default limit of 32,766 parameters would allow 2,978)."""

INSERT_COLS = (
    "source",
    "source_id",
    "kind",
    "at",
    "region",
    "attributes",
    "content_hash",
    "version",
    "late",
    "seq",
    "received_at",
)
"""The columns of a new record row, in the order :func:`insert_rows` builds them."""


class ConcurrentWrite(RuntimeError):
    """Another writer stored some of the same records while an upsert was under way (its batch is not
    kept: the caller's transaction rolls back); running the batch again resolves it."""


def max_seq(*, session: Session) -> int:
    """The highest arrival sequence stored (0 when empty)."""
    # Plain SQL: the ingest asks once a page, and a statement built and compiled each time costs more.
    return int(session.connection().exec_driver_sql(f"SELECT coalesce(max(seq), 0) FROM {_REC.name}").scalar_one())  # nosec B608  # the table name is a constant


def bind_conversion(dialect: sa.Dialect, column: sa.Column[Any]) -> Callable[[Any], Any]:
    """The column type's own bind conversion (e.g. aware datetime -> naive UTC text on SQLite), for
    statements sent through the driver.

    On SQLite the text must be exactly what SQLAlchemy writes elsewhere (with microseconds): the column
    is compared as text, and ``'… 01:00:00' < '… 01:00:00.000000'`` would drop a record lying exactly
    on a range bound. :func:`~integrations.store.prepared.utc_text` writes it, at a third of the cost of the
    type's processors.
    """
    if dialect.name == "sqlite" and isinstance(column.type, AwareDateTime):
        return utc_text
    proc = column.type.dialect_impl(dialect).bind_processor(dialect)
    return proc if proc is not None else (lambda v: v)


def insert_sql(dialect: sa.Dialect) -> str:
    """The one-row insert of :data:`INSERT_COLS` for ``dialect`` (for an ``executemany``)."""
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    marks = [
        f"CAST({mark} AS JSON)" if c == "attributes" and dialect.name == "postgresql" else mark for c in INSERT_COLS
    ]
    return f"INSERT INTO {_REC.name} ({', '.join(INSERT_COLS)}) VALUES ({', '.join(marks)})"  # nosec B608  # table and column names are constants; values are bound


@lru_cache(maxsize=32)
def _padded_insert_sql(rows: int) -> str:
    one = "(" + ", ".join(["?"] * len(INSERT_COLS)) + ")"
    return f"INSERT OR IGNORE INTO {_REC.name} ({', '.join(INSERT_COLS)}) VALUES {', '.join([one] * rows)}"


@lru_cache(maxsize=4)
def _pad_row(width: int) -> list[Any]:
    """A padding row's parameters: a NULL source (NOT NULL: IGNORE skips the row), then zeros, which
    sqlite3 binds directly (see the module docstring)."""
    return [None] + [0] * (width - 1)


def _size_class(n: int) -> int:
    return 1 << (n - 1).bit_length()


def insert_rows(
    numbered: Iterable[tuple[int, PreparedRecord]], dialect: sa.Dialect, received_at: Any
) -> list[tuple[Any, ...]]:
    """New rows as the insert takes them (in :data:`INSERT_COLS` order), each with its seq.

    ``received_at`` is already in the form the dialect binds (see :func:`bound_now`).
    """
    if dialect.name == "sqlite":
        # The event time's text was written while the record was mapped (off the writer's path); `late`
        # goes as the 0 or 1 SQLite stores for a boolean (see the module docstring).
        return [
            (source, sid, kind, at_utc or utc_text(at), region, attrs_json, h, 1, 1 if late else 0, seq, received_at)
            for seq, (source, sid, kind, at, region, _, attrs_json, h, late, at_utc) in numbered
        ]
    at_bind = bind_conversion(dialect, _REC.c.at)
    return [
        (source, sid, kind, at_bind(at), region, attrs_json, h, 1, late, seq, received_at)
        for seq, (source, sid, kind, at, region, _, attrs_json, h, late, _) in numbered
    ]


def bound_now(dialect: sa.Dialect, now: datetime | None = None) -> Any:
    """``now`` (default: the current time) as ``received_at`` is bound on ``dialect``."""
    return bind_conversion(dialect, _REC.c.received_at)(now or utcnow())


def execute_insert(conn: sa.Connection, rows: list[tuple[Any, ...]], *, if_new: bool = False) -> int:
    """Insert ``rows`` (from :func:`insert_rows`); with ``if_new`` (SQLite only) skip existing keys.
    PostgreSQL takes them by ``COPY``.

    Returns the number of rows inserted; without ``if_new`` that is all of them, or
    :class:`ConcurrentWrite` is raised. See the module docstring for how SQLite gets them.
    """
    if conn.dialect.name == "postgresql" and not if_new:
        return copy_rows(conn, rows)
    if conn.dialect.name != "sqlite":
        return int(conn.exec_driver_sql(insert_sql(conn.dialect), rows).rowcount)
    return _run_sqlite(conn, _sqlite_statements(conn, rows), len(rows), if_new=if_new)


def _sqlite_statements(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> list[tuple[str, list[Any]]]:
    """The padded multi-row statements of ``rows`` and their parameters (see the module docstring)."""
    width = len(INSERT_COLS)
    raw: sqlite3.Connection = conn.connection.dbapi_connection  # type: ignore[assignment]
    most = min(
        _MAX_ROWS_PER_STATEMENT, _size_class(raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width + 1) // 2
    )
    statements = []
    for i in range(0, len(rows), most):
        chunk = rows[i : i + most]
        size = _size_class(len(chunk))
        params = list(chain.from_iterable(chunk))
        params.extend(_pad_row(width) * (size - len(chunk)))
        statements.append((_padded_insert_sql(size), params))
    return statements


def _run_sqlite(conn: sa.Connection, statements: list[tuple[str, list[Any]]], n: int, *, if_new: bool) -> int:
    """Run :func:`_sqlite_statements` of ``n`` rows; how many went in (see :func:`execute_insert`)."""
    raw: sqlite3.Connection = conn.connection.dbapi_connection  # type: ignore[assignment]
    # The DBAPI cursor directly, as SQLAlchemy's execution path would be more Python in between.
    cursor = raw.cursor()
    done = 0
    try:
        for sql, params in statements:
            cursor.execute(sql, params)
            done += cursor.rowcount
    except sqlite3.Error as exc:  # as SQLAlchemy would have raised it (callers catch its exceptions)
        raise sa.exc.DBAPIError.instance(sql[:200], None, exc, sqlite3.Error, dialect=conn.dialect) from exc
    finally:
        cursor.close()
    if done != n and not if_new:
        # The keys were looked up before (outside the write lock): another writer got there in between.
        # (IGNORE would also skip a row breaking NOT NULL; mapped records never do.)
        raise ConcurrentWrite(Message(
            N_("{n} 条新记录中有 {taken} 条已被另一写入方同时存入；本批未保存（事务已回滚）：请重新运行"),
            n=n, taken=n - done))
    return done


class PendingInsert:
    """New rows made ready as SQLite's statements (see :func:`begin_insert_if_all_new`); :meth:`finish` runs them."""

    def __init__(self, conn: sa.Connection, statements: list[tuple[str, list[Any]]], n: int, base: int, now: Any
                 ) -> None:
        self._conn, self._statements, self._n, self._base, self._now = conn, statements, n, base, now

    def finish(self) -> int | None:
        """Run the statements (sqlite3 lets go of the GIL for each): how many rows, or ``None`` when some
        key existed already or came twice (then the rows this attempt inserted are deleted again)."""
        if _run_sqlite(self._conn, self._statements, self._n, if_new=True) == self._n:
            return self._n
        # Some keys were there already: take back exactly the rows this attempt inserted (its seq range,
        # its arrival time), in the same transaction.
        self._conn.exec_driver_sql(
            f"DELETE FROM {_REC.name} WHERE seq > ? AND seq <= ? AND received_at = ?",  # nosec B608  # the table name is a constant; values are bound
            (self._base, self._base + self._n, self._now),
        )
        return None


def begin_insert_if_all_new(session: Session, records: list[PreparedRecord]) -> PendingInsert:
    """Begin inserting ``records`` (SQLite) as new rows, all or none: the seq numbers and the statements'
    parameters now, the statements themselves by :meth:`PendingInsert.finish`."""
    conn = session.connection()
    base = max_seq(session=session)
    now = bound_now(conn.dialect)
    rows = insert_rows(enumerate(records, base + 1), conn.dialect, now)
    return PendingInsert(conn, _sqlite_statements(conn, rows), len(rows), base, now)


def copy_rows(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> int:
    """``rows`` into PostgreSQL by ``COPY … FROM STDIN``: the bulk load path, half again as fast as the
    pipelined ``executemany`` here (``bench/ingest_bench.py`` prints both). A key that exists already
    fails the whole COPY, raised as SQLAlchemy's ``IntegrityError`` as the insert would raise it.
    """
    if not rows:
        return 0
    raw = conn.connection.dbapi_connection
    sql = f"COPY {_REC.name} ({', '.join(INSERT_COLS)}) FROM STDIN"
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
    except conn.dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy would have raised it (callers catch those)
        raise sa.exc.DBAPIError.instance(
            sql, None, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
        ) from exc
    return len(rows)
