"""Fixtures for the ingest tests (the stores come from tests/conftest.py: ``engine``, ``sqlite_engine``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.kinds import RecordKinds
from integrations.settings import PACKAGE_ROOT
from integrations.simulator import RunningSimulator, start_simulator


@pytest.fixture(scope="session")
def kinds() -> RecordKinds:
    """The shipped record kinds (rules/kinds.yaml)."""
    return RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    """A small simulated month of the departments (three days, no bad items), stopped after the test."""
    with start_simulator(seed=11, days=3, scale=0.3, bad_rate=0.0) as s:
        yield s
