"""Waking the resident evaluator when records commit: PostgreSQL ``LISTEN``/``NOTIFY``, polling elsewhere.

The ingest says ``NOTIFY`` (on its store schema's channel, ``fenghuo_records_…``) inside the transaction
that stores new or changed records;
PostgreSQL delivers it when (and only if) that transaction commits, so a waiter never wakes for records
it cannot yet read. The resident evaluator waits on :class:`Wakeup`: on PostgreSQL a dedicated listening
connection returns as soon as a notification arrives (or at the poll interval, the fallback: a
notification is a hint, not the log — the store is); on SQLite it simply sleeps the poll interval.
"""

from __future__ import annotations

import time
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session

CHANNEL = "'fenghuo_records_' || left(md5(current_schema()), 12)"
"""The channel told, as an SQL expression: one per store schema, since ``NOTIFY`` reaches the whole
database and two stores in one database (a test schema beside another, a staging store) must not wake each
other's evaluators. The ingest's ``COPY`` tells it by ``pg_notify`` in its own savepoint, with the seq
query."""

NOTIFY_SQL = f"SELECT pg_notify({CHANNEL}, '')"  # nosec B608  # a constant expression, no input
"""The statement :func:`notify_records` sends."""


def notify_records(session: Session) -> None:
    """Inside the storing transaction: tell listeners, at commit, that records arrived (PostgreSQL only).

    Sent on the transaction's own connection straight through the driver, as the ``COPY`` before it is:
    once per stored page, it skips SQLAlchemy's statement compilation and execution context (a few
    tens of microseconds against a page's several milliseconds, but nothing to pay for a hint).
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        with conn.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(NOTIFY_SQL)


class Wakeup(Protocol):
    """Waits until records may have arrived, or ``timeout`` seconds at most."""

    tells: bool
    """True when a wait returns at once for records committed since the last one (a notification queued
    while the evaluator worked): then a run that took what it could need not be followed by another look."""

    def wait(self, timeout: float) -> bool:
        """True if woken by a notification, False when the timeout passed."""

    def close(self) -> None:
        """Release what waiting holds (a connection)."""


class Polling:
    """Sleep the interval (SQLite, or wherever notifications are not available)."""

    tells = False

    def wait(self, timeout: float) -> bool:
        """Sleep ``timeout`` seconds; never woken early."""
        time.sleep(timeout)
        return False

    def close(self) -> None:
        """Nothing to release."""


class Listening:
    """``LISTEN`` on the store schema's channel, on a connection of its own (autocommit, outside the engine's pool)."""

    tells = True

    def __init__(self, engine: sa.Engine) -> None:
        raw = engine.raw_connection()
        self._raw = raw
        self._conn = raw.driver_connection  # a psycopg Connection
        self._conn.autocommit = True  # type: ignore[union-attr]
        # Only hex digits after the prefix: safe as an identifier unquoted.
        self._channel = self._conn.execute(f"SELECT {CHANNEL}").fetchone()[0]  # type: ignore[union-attr]  # nosec B608
        self._conn.execute(f"LISTEN {self._channel}")  # type: ignore[union-attr]

    def wait(self, timeout: float) -> bool:
        """Return at the first notification (draining any others queued with it), or after ``timeout``."""
        woken = False
        for _ in self._conn.notifies(timeout=timeout, stop_after=1):  # type: ignore[union-attr]
            woken = True
        return woken

    def close(self) -> None:
        """Stop listening and give the connection back (closed: it was changed to autocommit)."""
        try:
            self._conn.execute(f"UNLISTEN {self._channel}")  # type: ignore[union-attr]
        finally:
            self._raw.invalidate()


def wakeup_for(engine: sa.Engine) -> Wakeup:
    """:class:`Listening` on PostgreSQL, :class:`Polling` elsewhere."""
    return Listening(engine) if engine.dialect.name == "postgresql" else Polling()
