"""Processes that open the same fresh store at once all succeed (the migration is taken in turn)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

PROBE = """
import sys
from alembic import command, config  # what the migration imports, loaded before the gun
from integrations.store.db import open_store
print("ready", flush=True)
sys.stdin.readline()  # the gun
engine = open_store(sys.argv[1])
engine.dispose()
"""


def _race(url: str, processes: int = 4) -> list[tuple[int, str]]:
    children = [subprocess.Popen([sys.executable, "-c", PROBE, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    for child in children:  # every child imported and waiting before the gun
        assert child.stdout is not None and child.stdout.readline().strip() == "ready", child.poll()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
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
