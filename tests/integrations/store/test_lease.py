"""The evaluator's lease: one holder at a time, named to others, released when its process dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from integrations.store.db import open_store
from integrations.store.lease import store_lease

HOLDER = """
import sys, time
from integrations.store.db import make_engine
from integrations.store.lease import store_lease
lease = store_lease(make_engine(sys.argv[1]), who="holder-" + sys.argv[2])
while not lease.try_acquire():
    time.sleep(0.2)
print("held", flush=True)
time.sleep(600)
"""


@pytest.fixture
def store(migrated_url: str) -> sa.Engine:
    engine = open_store(migrated_url)
    yield engine
    engine.dispose()


def _holder(url: str, tag: str) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, url, tag], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "held", line
    return child


def test_one_holder_at_a_time_in_process(store: sa.Engine) -> None:
    first, second = store_lease(store, who="a"), store_lease(store, who="b")
    assert first.try_acquire() and first.held()
    assert not second.try_acquire()
    assert second.holder() == "a"
    first.release()
    assert second.holder() is None
    assert second.try_acquire() and second.holder() == "b"
    second.release()


@pytest.mark.postgres
def test_the_holder_is_who_holds_the_lock_not_a_session_still_bearing_its_name(pg_url: str) -> None:
    store = open_store(pg_url)
    first, second = store_lease(store, who="a"), store_lease(store, who="b")
    assert first.try_acquire()
    with store.connect() as lingering:  # a released holder's session, not yet gone from pg_stat_activity
        schema = lingering.exec_driver_sql("SELECT current_schema()").scalar_one()
        lingering.exec_driver_sql("SELECT set_config('application_name', %(t)s, false)",
                                  {"t": f"fenghuo-lease {schema} evaluator c"})
        assert second.holder() == "a"
        first.release()
        assert second.holder() is None
        assert second.try_acquire() and second.holder() == "b"
        second.release()
    store.dispose()


def test_another_lease_name_is_independent(store: sa.Engine) -> None:
    a, b = store_lease(store, "evaluator", who="a"), store_lease(store, "other", who="b")
    assert a.try_acquire() and b.try_acquire()
    a.release(), b.release()


@pytest.mark.slow
def test_a_standby_takes_over_within_seconds_of_kill_9(store: sa.Engine, migrated_url: str) -> None:
    holder = _holder(migrated_url, "1")
    try:
        standby = store_lease(store, who="standby")
        assert not standby.try_acquire()
        assert standby.holder() == "holder-1"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not standby.try_acquire():
            assert time.monotonic() < deadline, "the lease was not free 10 s after its holder died"
            time.sleep(0.2)
        assert standby.held()
        standby.release()
    finally:
        holder.kill()
        holder.wait(timeout=10)
        assert holder.stdout is not None
        holder.stdout.close()
