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
    # Checkpoint every 40 records, deliveries of 20. The evaluator is killed as soon as it has evaluated 60
    # records, a batch past its checkpoint, with half the feed still to come (killed at a random moment a few
    # seconds after its start, as the bench kills, it mostly found the feed of 120 records over). One kill:
    # each process start costs seconds.
    # The uninterrupted run is evaluated in this process.
    result = crash_bench.crash_run(backend, records=120, kills=1, seed=5, every_records=40, inline_reference=True,
                                   kill_at=(60,))
    assert result["warnings"] and result["notifications"]  # the feed opens and routes warnings
    assert result["warnings_equal"] and result["notifications_equal"], result
    assert result["lost"] == 0 and result["doubled"] == 0 and result["max_rows_per_key"] == 1
    # The kill landed under the feed: the restart had records left to evaluate, so both processes logged
    # their start (the first is killed only after its start line).
    assert result["last_kill_under_feed"] and result["starts"] == 2, result
