"""Fixtures for integration tests: record kinds, a SQLite store, and a PostgreSQL store per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from domain.kinds import RecordKinds
from domain.store import open_store
from integrations.settings import PACKAGE_ROOT

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def kinds() -> RecordKinds:
    return RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "t.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[sa.Engine]:
    eng = open_store(f"sqlite:///{db_path}")
    yield eng
    eng.dispose()


@pytest.fixture
def pg_engine() -> Iterator[sa.Engine]:
    """A PostgreSQL store in a schema of its own, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    eng = open_store(f"{PG_URL}?options=-csearch_path%3D{schema}")
    yield eng
    eng.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
