"""New record rows into PostgreSQL by ``COPY … FROM STDIN``: the bulk half of
:mod:`integrations.store.record_insert` there.

:func:`begin_copy_if_all_new` inserts a batch as if every key were new, without first asking which
exist, in a savepoint an existing key rolls back; it hands every row to the driver at once and leaves
the end of the ``COPY`` (the server's part, waited for without the GIL) to :meth:`PendingCopy.finish`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from integrations.store.models import RecordRow
from integrations.store.prepared import PreparedRecord
from integrations.store.record_insert import INSERT_COLS, SEQ_LOCK, bound_now, insert_rows

__all__ = ["PendingCopy", "begin_copy_if_all_new"]

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]
_MAX_SEQ = f"SELECT (SELECT coalesce(max(seq), 0) FROM {_REC.name})"  # nosec B608  # the table name is a constant
"""The highest arrival sequence stored, as :func:`~integrations.store.record_insert.max_seq` reads it."""


class PendingCopy:
    """A ``COPY`` of new rows begun in a savepoint (PostgreSQL; see :func:`begin_copy_if_all_new`): every row
    handed to the driver, the statement not yet ended. :meth:`finish` ends it."""

    def __init__(self, conn: sa.Connection, savepoint: sa.NestedTransaction, cursor: Any, copying: Any, n: int) -> None:
        self._conn, self._savepoint, self._cursor, self._copying, self._n = conn, savepoint, cursor, copying, n

    def finish(self) -> int | None:
        """End the ``COPY`` (the server takes the rest and checks the keys, the driver waiting without the
        GIL): how many rows, or ``None`` when some key exists already (the savepoint rolled back)."""
        try:
            try:
                self._copying.__exit__(None, None, None)
            finally:
                self._cursor.close()
        except self._conn.dialect.loaded_dbapi.Error as exc:
            self._savepoint.rollback()
            wrapped = sa.exc.DBAPIError.instance(
                "COPY", None, exc, self._conn.dialect.loaded_dbapi.Error, dialect=self._conn.dialect
            )
            if isinstance(wrapped, sa.exc.IntegrityError):
                return None
            raise wrapped from exc
        self._savepoint.commit()
        return self._n


def begin_copy_if_all_new(session: Session, records: list[PreparedRecord], *, notify: str | None = None
                          ) -> PendingCopy | None:
    """Begin inserting ``records`` (PostgreSQL) as new rows by ``COPY``, all or none, without first asking
    which keys exist: the writers' lock, the savepoint, the seq numbers and every row handed to the driver
    now, the end of the ``COPY`` by :meth:`PendingCopy.finish`. ``None`` (nothing begun) when a key comes
    twice in ``records``. ``notify``: the SQL expression of a channel told inside the savepoint (``pg_notify``), so the
    notification is kept exactly when the rows are."""
    if len({(r[0], r[1]) for r in records}) < len(records):
        return None
    conn = session.connection()
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (SEQ_LOCK,))
    savepoint = conn.begin_nested()
    raw = conn.connection.dbapi_connection
    sql = f"COPY {_REC.name} ({', '.join(INSERT_COLS)}) FROM STDIN"
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        # The highest seq (read after the lock: no other writer allocates meanwhile) and the notification
        # in one round trip: on a busy machine each return from the server is a wait for a core.
        if notify is None:
            cursor.execute(_MAX_SEQ)
        else:
            cursor.execute(f"{_MAX_SEQ}, pg_notify({notify}, '')")  # nosec B608  # a constant expression
        base = int(cursor.fetchone()[0])  # type: ignore[index]  # one row, always
        rows = insert_rows(enumerate(records, base + 1), conn.dialect, bound_now(conn.dialect))
        copying = cursor.copy(sql)  # a context manager, entered here and left by PendingCopy.finish
        copy = copying.__enter__()
        try:
            for row in rows:
                copy.write_row(row)
        except BaseException as exc:
            copying.__exit__(type(exc), exc, exc.__traceback__)
            raise
    except conn.dialect.loaded_dbapi.Error as exc:
        cursor.close()
        savepoint.rollback()
        raise sa.exc.DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect) from exc
    except BaseException:
        cursor.close()
        savepoint.rollback()
        raise
    return PendingCopy(conn, savepoint, cursor, copying, len(rows))
