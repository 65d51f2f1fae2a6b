"""Shared fixtures: stores on SQLite and PostgreSQL, one Prefect API for the flows of a run.

PostgreSQL tests run against the server on 127.0.0.1:5432 (database ``test``), each in a schema of its
own that is dropped afterwards. Without that server they are skipped with a reason, except in CI
(``CI`` set), where a missing PostgreSQL is a failure: CI must never skip them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from hypothesis import settings

from integrations.settings import get_settings, quiet_prefect
from integrations.store.db import open_store

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

quiet_prefect()

# CI explores the same examples on every run (a red CI must be reproducible); developers explore anew.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "not here"
        return f"PostgreSQL on 127.0.0.1:5432 not reachable ({type(exc).__name__})"


_CATALOGS = ("pg_attribute", "pg_depend", "pg_class", "pg_index", "pg_type", "pg_constraint", "pg_attrdef",
             "pg_namespace", "pg_sequence", "pg_statistic")


@pytest.fixture(scope="session")
def pg_reason() -> Iterator[str | None]:
    """None when PostgreSQL answers; else why not. At the end of the session the system catalogs that the
    tests' schemas churned (a migrated store is some forty tables, created and dropped) are vacuumed: on a
    server without autovacuum their dead rows otherwise pile up run after run, and every later migration
    and catalog lookup pays for them (one machine here: 443,116 dead rows in pg_attribute against 3,914
    live, and a suite a third slower)."""
    reason = _pg_available()
    yield reason
    if reason is None:
        admin = sa.create_engine(PG_URL)
        with admin.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM " + ", ".join(f"pg_catalog.{c}" for c in _CATALOGS))
        admin.dispose()


@pytest.fixture
def pg_url(pg_reason: str | None) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    if pg_reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {pg_reason}")
        pytest.skip(pg_reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_schemas(pg_reason: str | None) -> Iterator[Callable[[], str]]:
    """Makes PostgreSQL URLs, each with a fresh schema, for fixtures broader than one test (a module's
    stores, migrated once); the schemas are dropped at the end of the session. Skips or fails as
    :func:`pg_url` does."""
    if pg_reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {pg_reason}")
        pytest.skip(pg_reason)
    made: list[str] = []
    admin = sa.create_engine(PG_URL)

    def make() -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        made.append(schema)
        return f"{PG_URL}?options=-csearch_path%3D{schema}"

    try:
        yield make
    finally:
        with admin.begin() as conn:
            for schema in made:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """The store URL, once per backend: the same test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/fenghuo.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(store_url: str) -> Iterator[sa.Engine]:
    """A migrated store on each backend."""
    eng = open_store(store_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[sa.Engine]:  # type: ignore[no-untyped-def]
    """A migrated SQLite store only (for tests whose backend does not matter)."""
    eng = open_store(f"sqlite:///{tmp_path}/fenghuo.db")
    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def _store_engines_closed() -> Iterator[None]:
    """Commands open the configured store once per URL and keep it (``flows.store``); a test's store
    is gone after the test, so its pooled connections are closed here rather than by the garbage
    collector in the middle of a later test."""
    yield
    from flows.store import close_engines

    close_engines()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Every test gets its own FENGHUO_HOME, so nothing touches the developer's .fenghuo/."""
    monkeypatch.setenv("FENGHUO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FENGHUO_DATABASE_URL", raising=False)
    monkeypatch.delenv("FENGHUO_LANG", raising=False)  # Chinese, the default, unless a test asks for English
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A Prefect API for the flows of the session: under pytest-xdist one server shared by every worker of
    the run (:mod:`tests.prefect_shared`: starting one costs each worker half a minute on a loaded machine),
    in a single process Prefect's own test harness."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=180):
            yield
        return
    from prefect.context import _temporary_global_settings_context, get_settings_context
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.prefect_shared import shared_api_url

    # The workers' shared folder (each worker's basetemp is a folder in it); their parent is the controller.
    url = shared_api_url(tmp_path_factory.getbasetemp().parent, controller=os.getppid())
    with temporary_settings(updates={PREFECT_API_URL: url}), \
            _temporary_global_settings_context(get_settings_context()):
        yield
        # What the flows logged and emitted reaches the server before the settings go (as the harness does).
        APILogWorker.drain_all()
        EventsWorker.drain_all()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--fuzz-examples N``: cases per fuzzing harness (tests/fuzz), 20 by default (CI);
    ``--docs-screenshots``: the browser tests write the README's screenshots (off by default, so a test
    run never changes the checkout)."""
    parser.addoption("--fuzz-examples", type=int, default=20,
                     help="cases each fuzzing harness in tests/fuzz tries (default 20; try 5000 on demand)")
    parser.addoption("--docs-screenshots", action="store_true", default=False,
                     help="the browser tests also refresh docs/img (needs CJK fonts, e.g. fonts-noto-cjk)")


def pytest_configure(config: pytest.Config) -> None:
    """Hand the fuzzing harnesses their budget before their modules are imported."""
    from tests.fuzz import set_examples

    set_examples(int(config.getoption("--fuzz-examples")))
