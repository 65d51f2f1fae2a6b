"""Processes that open the same fresh store at once all succeed (the migration is taken in turn)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

PROBE = """
import sys, time
from integrations.store.db import open_store
url, start = sys.argv[1], float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
engine = open_store(url)
engine.dispose()
"""


def _race(url: str, processes: int = 4) -> list[tuple[int, str]]:
    start = time.time() + 3.0  # every child imported and waiting before the gun
    children = [subprocess.Popen([sys.executable, "-c", PROBE, url, repr(start)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    results = []
    for child in children:
        _, err = child.communicate(timeout=120)
        results.append((child.returncode, err[-600:]))
    return results


@pytest.mark.slow
def test_processes_racing_to_open_a_fresh_store_all_succeed(store_url: str) -> None:
    results = _race(store_url)
    assert all(code == 0 for code, _ in results), [err for code, err in results if code]
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    finally:
        engine.dispose()
    assert len(versions) == 1
