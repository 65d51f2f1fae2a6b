"""The store: engine, sessions and schema. Repository functions live in ``integrations/store/``.

SQLite is the embedded default; PostgreSQL is the production store (``FENGHUO_DATABASE_URL``). The schema
is created and upgraded only by Alembic migrations (``migrations/versions``), never by ``create_all``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys and a busy timeout so flows can share it."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            # Checkpoint the WAL every 16 MB, not every 4: a page of records rewrites the same index pages,
            # and a checkpoint copies only their last version (the ingest spends less time checkpointing).
            cur.execute("PRAGMA wal_autocheckpoint=4000")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def for_backend(obj: object, dialect: str) -> bool:
    """False for a schema item declared for other backends only (``sa.Index(...).ddl_if(dialect=...)``).

    Alembic's comparison of models and database does not read that condition: its ``include_object``
    hook (``migrations/env.py``, the drift test) asks this instead.
    """
    cond = getattr(obj, "_ddl_if", None)
    wanted = getattr(cond, "dialect", None)
    if wanted is None:
        return True
    return dialect == wanted if isinstance(wanted, str) else dialect in wanted


def include_object_for(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object`` hook for ``dialect``: an index declared for another backend only is
    neither missing there nor to be dropped (see :func:`for_backend`)."""

    def include_object(obj: object, _name: str, type_: str, reflected: bool, compare_to: object) -> bool:
        return for_backend(compare_to if reflected else obj, dialect) if type_ == "index" else True

    return include_object


MIGRATION_LOCK = 0x46484D47
"""First key of the PostgreSQL advisory lock that serialises migrations (the second is the schema's hash,
so stores in different schemas migrate side by side)."""


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (idempotent, and safe when processes race).

    Two processes opening a fresh store at once would both create the same tables: one fails (on
    PostgreSQL in ``pg_type``, on SQLite with "table already exists"). The migration therefore runs in a
    transaction that first takes an exclusive lock — an advisory lock on PostgreSQL, ``BEGIN EXCLUSIVE``
    on SQLite — so the second process waits, then finds the schema at head and does nothing.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        _lock_for_migration(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _lock_for_migration(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", (MIGRATION_LOCK,))
    elif conn.dialect.name == "sqlite":
        # pysqlite opens no transaction before DDL by itself; an explicit one, taken exclusively, makes the
        # whole migration one unit that a second process waits for (up to the busy timeout).
        conn.exec_driver_sql("BEGIN EXCLUSIVE")


def open_store(url: str, *, migrate: bool = True) -> sa.Engine:
    """Create the engine for ``url`` and (by default) migrate its schema to the latest revision."""
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    return engine


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """A session whose work commits together at the end, or rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
