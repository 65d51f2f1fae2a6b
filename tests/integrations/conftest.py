"""Fixtures of the integration tests. The stores (``engine``, ``sqlite_engine``, and ``migrated_url`` for a
test's own fixture) are copies of a store migrated once per test process (tests/store_templates.py); the
empty ones (``store_url``, ``pg_url``: for tests of the migrations) come from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from domain.kinds import RecordKinds
from integrations.settings import PACKAGE_ROOT
from integrations.simulator import RunningSimulator, start_simulator
from tests.store_templates import engine, migrated_url, pg_templates, sqlite_engine, store_templates

__all__ = ["engine", "migrated_url", "pg_templates", "sqlite_engine", "store_templates"]


CHEAP_ARGON2 = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
"""Argon2id at its lowest cost: a hash or a check in well under a millisecond, against a sixth of a second
(more on a loaded machine) at the library's defaults, which the store uses; a login test makes several."""


@pytest.fixture(autouse=True)
def _cheap_password_hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Accounts are hashed and checked with :data:`CHEAP_ARGON2` (the same code, Argon2id, hashes that carry
    their own parameters; the unknown-user dummy too), except in a test that asks for ``real_argon2``."""
    if "real_argon2" in request.fixturenames:
        return
    from integrations.store import users

    monkeypatch.setattr(users, "_HASHER", CHEAP_ARGON2)
    monkeypatch.setattr(users, "_DUMMY", CHEAP_ARGON2.hash("fenghuo-no-such-user"))


@pytest.fixture
def real_argon2() -> None:
    """The store's own Argon2 parameters for this test (see :func:`_cheap_password_hashes`)."""


@pytest.fixture(scope="session")
def kinds() -> RecordKinds:
    """The shipped record kinds (rules/kinds.yaml)."""
    return RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    """A small simulated month of the departments (three days, no bad items), stopped after the test."""
    with start_simulator(seed=11, days=3, scale=0.3, bad_rate=0.0) as s:
        yield s
