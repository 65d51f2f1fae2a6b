"""Migrated stores for tests, cheaply. Running the Alembic migrations for every test (some twenty-five tables
and seventy indexes; on PostgreSQL created in a fresh schema, then dropped with it) costs a quarter of a second
to a second a store on a loaded two-core machine, and the suite makes some six hundred stores.

- SQLite: a store migrated once per test process (the *template*) is copied, file and all (its engine is
  disposed first, so no WAL is left beside it).
- PostgreSQL: a test's schema, once the test is over, is emptied and handed to the next test instead of
  being dropped (a pool of migrated schemas per test process). Emptied means what a fresh migration leaves:
  every table truncated but ``alembic_version``, every sequence back at its start; and it is reused only
  if its tables, indexes and sequences are still exactly those the migrations made and nothing of the
  test still holds it (a lock on its tables, or a lease: see :func:`StoreTemplates.pg_release`) —
  otherwise it is dropped and a new one migrated. The schema's name is new per store made, so a lease or
  a ``NOTIFY`` channel (both keyed on ``current_schema()``) of one test never meets another's at the same
  time; reused, it is the same store for the next test as a new one would be.

A copy is a store the migrations built, and is opened again with :func:`integrations.store.db.open_store`
(which finds it at head). Tests of the migrations themselves keep ``store_url`` and ``pg_url`` (empty
stores, tests/conftest.py) and migrate. The fixtures are imported by the conftests of the folders that use
them (tests/integrations, tests/rules).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from integrations.store.db import open_store

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LEASE_APP_PREFIX = "fenghuo-lease"  # integrations.store.lease: a lease holder's application_name starts so


def pg_schema_url(schema: str) -> str:
    """The store URL whose ``search_path`` is ``schema`` (as tests/conftest.py's ``pg_url`` gives)."""
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


_SHAPE = """SELECT relkind::text, relname || ' ' || relnatts FROM pg_class WHERE relnamespace = {ns}
            UNION ALL SELECT 'constraint', conname FROM pg_constraint WHERE connamespace = {ns}
            UNION ALL SELECT 'version', version_num FROM "{schema}".alembic_version ORDER BY 1, 2"""
"""What a migrated schema is made of: its tables, indexes and sequences (with their column counts), its
constraints, its Alembic revision."""


def _shape(conn: sa.Connection, schema: str) -> list[tuple[str, str]]:
    ns = f"CAST('{schema}' AS regnamespace)"
    return [(kind, what) for kind, what in conn.exec_driver_sql(_SHAPE.format(ns=ns, schema=schema))]


class StoreTemplates:
    """The SQLite template and the pool of PostgreSQL schemas of one test process (see the module)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._admin: sa.Engine | None = None
        self._shape: list[tuple[str, str]] | None = None  # a migrated schema's (see _SHAPE)
        self._tables: list[str] = []  # its tables but alembic_version
        self._free: list[str] = []  # migrated schemas, empty, waiting for a test
        self._made: list[str] = []  # every schema made, dropped at the end
        self.reused = self.discarded = 0

    # SQLite

    def sqlite_copy(self, path: Path) -> str:
        """A migrated SQLite store at ``path`` (a copy of the template); its URL."""
        if self._sqlite is None:
            template = self.folder / "template.db"
            open_store(f"sqlite:///{template}").dispose()
            for suffix in ("-wal", "-shm"):  # the last connection closed: the WAL was folded into the file
                assert not Path(f"{template}{suffix}").exists(), f"{template}{suffix} left behind"
            self._sqlite = template
        shutil.copyfile(self._sqlite, path)
        return f"sqlite:///{path}"

    # PostgreSQL

    @property
    def admin(self) -> sa.Engine:
        if self._admin is None:
            self._admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        return self._admin

    def pg_schema(self) -> str:
        """A migrated, empty PostgreSQL schema for one test: from the pool, or new. Give it back with
        :meth:`pg_release`."""
        if self._free:
            self.reused += 1
            return self._free.pop()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        self._made.append(schema)
        open_store(pg_schema_url(schema)).dispose()
        if self._shape is None:
            with self.admin.connect() as conn:
                self._shape = _shape(conn, schema)
                self._tables = conn.exec_driver_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %(s)s AND tablename <> 'alembic_version' "
                    "ORDER BY 1", {"s": schema}).scalars().all()
        return schema

    def pg_release(self, schema: str) -> None:
        """After the test: empty ``schema`` back to the migrated state and pool it, or drop it if it cannot
        be (its shape changed, or something of the test still holds it)."""
        try:
            self._reset(schema)
        except Exception:  # whatever went wrong, the schema is not reused
            self.discarded += 1
            self._drop(schema)
            return
        self._free.append(schema)

    def _reset(self, schema: str) -> None:
        with self.admin.connect() as conn:
            # A lease the test left held (its holder still running) would be found held by the next test.
            held = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %(p)s",
                {"p": f"{LEASE_APP_PREFIX} {schema} %"}).scalar_one()
            if held:
                raise RuntimeError(f"{held} lease(s) still held in {schema}")
            if _shape(conn, schema) != self._shape:
                raise RuntimeError(f"{schema} is no longer the migrated schema")
            conn.exec_driver_sql("SET lock_timeout = '5s'")
            conn.exec_driver_sql(f'SET search_path = "{schema}"')
            used = conn.exec_driver_sql(" UNION ALL ".join(
                f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in self._tables)).scalars().all()
            if used:
                # CASCADE: a table that references a truncated one is truncated too (empty or not).
                conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in used) + " CASCADE")
            conn.exec_driver_sql(
                "SELECT setval(format('%%I.%%I', schemaname, sequencename)::regclass, start_value, false) "
                "FROM pg_sequences WHERE schemaname = %(schema)s AND last_value IS NOT NULL", {"schema": schema})

    def _drop(self, schema: str) -> None:
        try:
            with self.admin.connect() as conn:
                conn.exec_driver_sql("SET lock_timeout = '30s'")
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        except Exception:  # tried again at the end of the session
            pass

    @contextmanager
    def store(self, backend: str) -> Iterator[sa.Engine]:
        """A migrated store of its own on ``backend`` (``sqlite``, ``postgres``), opened, and gone after the
        block: for a property test's examples, each on a fresh store."""
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(dir=self.folder) as folder:
                engine = open_store(self.sqlite_copy(Path(folder) / "fenghuo.db"))
                try:
                    yield engine
                finally:
                    engine.dispose()
            return
        schema = self.pg_schema()
        try:
            engine = open_store(pg_schema_url(schema))
            try:
                yield engine
            finally:
                engine.dispose()
        finally:
            self.pg_release(schema)

    def close(self) -> None:
        """Drop every schema made."""
        if os.environ.get("FENGHUO_TEST_POOL_REPORT"):  # how the pool did: a line per test process
            with Path(os.environ["FENGHUO_TEST_POOL_REPORT"]).open("a", encoding="utf-8") as out:
                out.write(f"made {len(self._made)} reused {self.reused} discarded {self.discarded}\n")
        if self._made:
            with self.admin.connect() as conn:
                conn.exec_driver_sql("SET lock_timeout = '30s'")
                for schema in self._made:
                    conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if self._admin is not None:
            self._admin.dispose()


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreTemplates]:
    """This test process's SQLite template and PostgreSQL pool (see the module)."""
    templates = StoreTemplates(tmp_path_factory.mktemp("store-templates"))
    try:
        yield templates
    finally:
        templates.close()


def _require_pg(request: pytest.FixtureRequest) -> None:
    """Skip without PostgreSQL, or fail in CI (CI must never skip it), as ``pg_url`` does."""
    reason = request.getfixturevalue("pg_reason")
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)


@pytest.fixture
def pg_templates(request: pytest.FixtureRequest, store_templates: StoreTemplates) -> StoreTemplates:
    """:func:`store_templates` for a test that makes PostgreSQL stores (``.store("postgres")``): skips or fails
    without PostgreSQL as ``pg_url`` does."""
    _require_pg(request)
    return store_templates


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path, store_templates: StoreTemplates) -> Iterator[str]:
    """The URL of a store already migrated and empty, once per backend (the same ids as ``store_url``).
    PostgreSQL skips or fails as ``pg_url`` does: CI must never skip it."""
    if request.param == "sqlite":
        yield store_templates.sqlite_copy(tmp_path / "fenghuo.db")
        return
    _require_pg(request)
    schema = store_templates.pg_schema()
    try:
        yield pg_schema_url(schema)
    finally:
        store_templates.pg_release(schema)


@pytest.fixture
def engine(migrated_url: str) -> Iterator[sa.Engine]:
    """A migrated store on each backend (see the module), opened as a command opens it."""
    eng = open_store(migrated_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path, store_templates: StoreTemplates) -> Iterator[sa.Engine]:
    """A migrated SQLite store only (for tests whose backend does not matter): a copy of the template."""
    eng = open_store(store_templates.sqlite_copy(tmp_path / "fenghuo.db"))
    yield eng
    eng.dispose()
