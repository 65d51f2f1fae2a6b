"""Fixtures for the ingest tests (the stores come from tests/conftest.py: ``engine``, ``sqlite_engine``)."""

from __future__ import annotations

import pytest

from domain.kinds import RecordKinds
from integrations.settings import PACKAGE_ROOT


@pytest.fixture(scope="session")
def kinds() -> RecordKinds:
    """The shipped record kinds (rules/kinds.yaml)."""
    return RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")
