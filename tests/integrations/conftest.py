"""Fixtures of the integration tests. The stores (``engine``, ``sqlite_engine``, and ``migrated_url`` for a
test's own fixture) are copies of a store migrated once per test process (tests/store_templates.py); the
empty ones (``store_url``, ``pg_url``: for tests of the migrations) come from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.kinds import RecordKinds
from integrations.settings import PACKAGE_ROOT
from integrations.simulator import RunningSimulator, start_simulator
from tests.store_templates import engine, migrated_url, pg_templates, sqlite_engine, store_templates

__all__ = ["engine", "migrated_url", "pg_templates", "sqlite_engine", "store_templates"]


@pytest.fixture(scope="session")
def kinds() -> RecordKinds:
    """The shipped record kinds (rules/kinds.yaml)."""
    return RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    """A small simulated month of the departments (three days, no bad items), stopped after the test."""
    with start_simulator(seed=11, days=3, scale=0.3, bad_rate=0.0) as s:
        yield s
