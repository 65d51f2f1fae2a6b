"""Migrated stores for tests, cheaply: each backend's store is migrated once per test process (a *template*)
and every test gets a copy of it, instead of running the Alembic migrations again (on PostgreSQL some forty
tables created, then dropped with their schema: about a second a test on a loaded machine, against a
tenth of that for a copy).

- SQLite: the template's file, copied (the store is one file; its engine is disposed first, so no WAL is left).
- PostgreSQL: a database of its own per test, ``CREATE DATABASE … TEMPLATE`` of a database migrated once
  (a block copy, no DDL). The template migrates into a schema, which each copy renames to a fresh name: the
  test's URL sets ``search_path`` to it, as :func:`tests.conftest.pg_url` does, so what keys on
  ``current_schema()`` (the lease's holder name in ``pg_stat_activity``, the records' ``NOTIFY`` channel)
  stays apart from the other tests running at the same time. The copy is dropped ``WITH (FORCE)`` after the
  test (a connection the test left open must not fail the teardown).

A copy is the store the migrations build (the copy runs :func:`integrations.store.db.open_store` again,
which finds it at head); tests of the migrations themselves keep ``store_url`` (an empty store) and migrate.
The fixtures here are imported by the conftests of the folders that use them (tests/integrations,
tests/rules).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from integrations.store.db import open_store

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
ADMIN_DB = "test"
TEMPLATE_SCHEMA = "tpl"
_RUN = uuid.uuid4().hex[:10]  # this test process's: two sessions on one server never share a template


class StoreTemplates:
    """The migrated templates of one test process, made on first use, dropped at its end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._pg: str | None = None
        self._admin: sa.Engine | None = None

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

    @property
    def admin(self) -> sa.Engine:
        if self._admin is None:
            self._admin = sa.create_engine(PG_SERVER + ADMIN_DB, isolation_level="AUTOCOMMIT",
                                           poolclass=sa.pool.NullPool)
        return self._admin

    def _pg_template(self) -> str:
        if self._pg is None:
            name = f"fh_tpl_{_RUN}"
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            made = sa.create_engine(PG_SERVER + name, poolclass=sa.pool.NullPool)
            with made.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{TEMPLATE_SCHEMA}"')
            made.dispose()
            open_store(f"{PG_SERVER}{name}?options=-csearch_path%3D{TEMPLATE_SCHEMA}").dispose()
            with self.admin.connect() as conn:
                # No connection may be open to a template while it is copied: none of ours is, and with
                # connections refused autovacuum (where it runs) leaves it alone too.
                conn.exec_driver_sql(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
            self._pg = name
        return self._pg

    def pg_copy(self) -> tuple[str, str]:
        """A migrated PostgreSQL store in a database of its own: ``(url, database)``."""
        template = self._pg_template()
        name, schema = f"fh_t_{_RUN}_{uuid.uuid4().hex[:8]}", f"t_{uuid.uuid4().hex[:12]}"
        for attempt in range(50):
            try:
                with self.admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                break
            except sa.exc.OperationalError as exc:  # "source database … is being accessed by other users"
                if "being accessed by other users" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.1)
        copy = sa.create_engine(PG_SERVER + name, poolclass=sa.pool.NullPool)
        with copy.begin() as conn:
            conn.exec_driver_sql(f'ALTER SCHEMA "{TEMPLATE_SCHEMA}" RENAME TO "{schema}"')
        copy.dispose()
        return f"{PG_SERVER}{name}?options=-csearch_path%3D{schema}", name

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
        url, database = self.pg_copy()
        try:
            engine = open_store(url)
            try:
                yield engine
            finally:
                engine.dispose()
        finally:
            self.drop(database)

    def drop(self, database: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    def close(self) -> None:
        if self._pg is not None:
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{self._pg}" WITH IS_TEMPLATE false')
            self.drop(self._pg)
        if self._admin is not None:
            self._admin.dispose()


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreTemplates]:
    """This test process's migrated templates (see the module)."""
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
    """The URL of a store already migrated, once per backend (the same ids as ``store_url``): a copy of the
    template. PostgreSQL skips or fails as ``pg_url`` does: CI must never skip it."""
    if request.param == "sqlite":
        yield store_templates.sqlite_copy(tmp_path / "fenghuo.db")
        return
    _require_pg(request)
    url, database = store_templates.pg_copy()
    try:
        yield url
    finally:
        store_templates.drop(database)


@pytest.fixture
def engine(migrated_url: str) -> Iterator[sa.Engine]:
    """A migrated store on each backend (a copy of the template, opened as a command opens it)."""
    eng = open_store(migrated_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path, store_templates: StoreTemplates) -> Iterator[sa.Engine]:
    """A migrated SQLite store only (for tests whose backend does not matter): a copy of the template."""
    eng = open_store(store_templates.sqlite_copy(tmp_path / "fenghuo.db"))
    yield eng
    eng.dispose()
