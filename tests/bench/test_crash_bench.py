"""The crash benchmark, small: `fenghuo evaluate --follow` killed with SIGKILL under a paced feed and
restarted each time ends with the warnings and notifications of an uninterrupted run — none lost, none
doubled."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import crash_bench  # bench/ is not a package: found through sys.path


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_kill_9_loses_nothing_and_doubles_nothing(backend: str, request: pytest.FixtureRequest) -> None:
    if backend == "postgres" and (reason := request.getfixturevalue("pg_reason")):
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    # Checkpoint every 40 records, deliveries of 20. Each process is killed as soon as it has evaluated 60 and
    # 100 records, a batch past a checkpoint (at random moments a few seconds after a start, as the bench
    # kills, the feed of 120 records had mostly finished before the first kill).
    # The uninterrupted run is evaluated in this process (a process start costs seconds).
    result = crash_bench.crash_run(backend, records=120, kills=2, seed=5, every_records=40, inline_reference=True,
                                   kill_at=(60, 100))
    assert result["warnings"] and result["notifications"]  # the feed opens and routes warnings
    assert result["warnings_equal"] and result["notifications_equal"], result
    assert result["lost"] == 0 and result["doubled"] == 0 and result["max_rows_per_key"] == 1
    # Both kills landed under the feed: the last restart had records left to evaluate, so all three processes
    # logged their start (each is killed only after its start line).
    assert result["last_kill_under_feed"] and result["starts"] == 3, result
