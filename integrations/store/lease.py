"""One evaluator at a time: a lease on the store that the resident evaluator holds while it runs.

Two evaluations at once would both consume the same records from the same state. The lease makes the
resident evaluator the only one: ``evaluate --once`` gives way to it (naming the holder), a second
``evaluate --follow`` waits as a hot standby and takes over when the holder dies.

The lock is one the operating system or the database releases by itself when its holder dies, kill -9
included, so nothing has to expire:

- PostgreSQL: a session-level advisory lock on a connection kept open for as long as the lease is held
  (the server drops it when that connection closes). The holder names itself in the connection's
  ``application_name``, which any client can read from ``pg_stat_activity``.
- SQLite: an exclusive ``flock`` on a file beside the database, holding the holder's name.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

LEASE_LOCK = 0x46484556
"""First key of the PostgreSQL advisory lock (the second is the schema's hash: one lease per store)."""
_APP_PREFIX = "fenghuo-lease"


def describe_process() -> str:
    """``host:pid``, how a holder names itself."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease(Protocol):
    """A named, exclusive lease on one store."""

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process holds it afterwards."""
        ...

    def holder(self) -> str | None:
        """Who holds the lease (``None``: nobody), as the holder described itself."""
        ...

    def held(self) -> bool:
        """True while this process holds the lease (the lock is still there)."""
        ...

    def release(self) -> None:
        """Give the lease up (idempotent)."""
        ...


class FileLease:
    """The SQLite lease: ``flock`` on ``PATH.NAME.lease`` beside the database file."""

    def __init__(self, path: Path, who: str) -> None:
        self.path = path
        self.who = who
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """See :meth:`Lease.try_acquire`."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, self.who.encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return True

    def holder(self) -> str | None:
        """See :meth:`Lease.holder`."""
        if self._fd is not None:
            return self.who
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # held: the file says by whom
                return os.pread(fd, 512, 0).decode(errors="replace") or "unknown"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def held(self) -> bool:
        """See :meth:`Lease.held`."""
        return self._fd is not None

    def release(self) -> None:
        """See :meth:`Lease.release`."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None


class AdvisoryLease:
    """The PostgreSQL lease: a session advisory lock on a connection of its own."""

    def __init__(self, engine: sa.Engine, name: str, who: str) -> None:
        self.engine = engine
        self.name = name
        self.who = who
        self._conn: sa.Connection | None = None

    def _key(self) -> str:
        return f"{LEASE_LOCK}, hashtext(current_schema() || ':' || %(name)s)"

    def try_acquire(self) -> bool:
        """See :meth:`Lease.try_acquire`."""
        if self._conn is not None:
            return True
        conn = self.engine.connect()
        try:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
            got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({self._key()})", {"name": self.name}).scalar()
            if not got:
                conn.rollback()
                conn.close()
                return False
            tag = f"{_APP_PREFIX} {schema} {self.name} {self.who}"[:63]
            conn.exec_driver_sql("SELECT set_config('application_name', %(tag)s, false)", {"tag": tag})
            conn.commit()  # the session lock outlives the transaction; nothing stays open but the session
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return True

    def holder(self) -> str | None:
        """See :meth:`Lease.holder`."""
        if self._conn is not None:
            return self.who
        # The lock itself, not the holder's connection: a released or killed holder's backend can linger in
        # pg_stat_activity for a moment after its lock is gone.
        with self.engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
            prefix = f"{_APP_PREFIX} {schema} {self.name} "
            names = conn.exec_driver_sql(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
                " AND l.classid = %(lock)s::oid AND l.objid = hashtext(current_schema() || ':' || %(name)s)::oid",
                {"lock": LEASE_LOCK, "name": self.name}).scalars().all()
        if not names:
            return None
        return names[0].removeprefix(prefix) if names[0].startswith(prefix) else "unknown"

    def held(self) -> bool:
        """See :meth:`Lease.held`: asks the server, so a dropped connection shows as lost."""
        if self._conn is None:
            return False
        try:
            self._conn.exec_driver_sql("SELECT 1").scalar()
            self._conn.rollback()
            return True
        except sa.exc.DBAPIError:
            self._drop()
            return False

    def release(self) -> None:
        """See :meth:`Lease.release`."""
        if self._conn is not None:
            try:
                self._conn.exec_driver_sql(f"SELECT pg_advisory_unlock({self._key()})", {"name": self.name})
                self._conn.commit()
            except sa.exc.DBAPIError:
                pass  # the connection is gone, and the lock with it
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()  # never back to the pool: that session held the lock
                self._conn.close()
            finally:
                self._conn = None


def store_lease(engine: sa.Engine, name: str = "evaluator", who: str | None = None) -> Lease:
    """The lease called ``name`` on the store behind ``engine``, taken as ``who`` (default host:pid)."""
    who = who or describe_process()
    if engine.dialect.name == "postgresql":
        return AdvisoryLease(engine, name, who)
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        raise ValueError("a lease needs PostgreSQL or a SQLite file")
    return FileLease(Path(f"{database}.{name}.lease"), who)
