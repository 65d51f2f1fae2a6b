"""The libFuzzer harnesses (``tests/fuzz/fuzz_*.py``, atheris) run briefly in CI; a crash fails the test.

Each harness runs in its own process (libFuzzer exits the process when it is done), all four at once,
from a scratch corpus seeded with ``tests/fuzz/seeds/<name>``, for a bounded number of inputs (about
15 seconds in all on a quiet 2-core machine). Longer on demand, one harness at a time, e.g.::

    uv run python tests/fuzz/fuzz_intake.py /tmp/corpus-intake tests/fuzz/seeds/intake -max_total_time=600

A crash writes the input to ``crash-<sha1>`` (here in the test's temporary folder, named in the failure);
``uv run python tests/fuzz/fuzz_<name>.py crash-<sha1>`` replays it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris is installed on Linux x86_64 only (pyproject.toml's marker)")

HERE = Path(__file__).resolve().parent
RUNS = {"speedups": 3_000, "loader": 80, "filedrop": 300, "intake": 300}
"""Inputs per harness in CI: each takes a few seconds, most of it starting Python and importing."""
SECONDS = 60
"""libFuzzer's own bound on each run (``-max_total_time``), should the machine be very busy."""


def test_every_harness_runs_its_inputs_without_a_crash(tmp_path: Path) -> None:
    running = {}
    for name, runs in RUNS.items():
        corpus, artifacts = tmp_path / f"corpus-{name}", tmp_path / f"crashes-{name}"
        shutil.copytree(HERE / "seeds" / name, corpus)
        artifacts.mkdir()
        command = [sys.executable, str(HERE / f"fuzz_{name}.py"), str(corpus), f"-runs={runs}",
                   f"-max_total_time={SECONDS}", f"-artifact_prefix={artifacts}/", "-print_final_stats=1"]
        running[name] = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=HERE.parents[1])
    failed = []
    for name, process in running.items():
        out, _ = process.communicate(timeout=SECONDS * 3)
        lines = [line for line in out.splitlines() if not line.startswith("INFO: Instrumenting")]
        crashes = sorted(p.name for p in (tmp_path / f"crashes-{name}").iterdir())
        done = any(line.startswith("Done ") and " runs in " in line for line in lines)
        if process.returncode != 0 or crashes or not done:
            failed.append(f"fuzz_{name}.py exit {process.returncode}, crashes {crashes} in {tmp_path}:\n"
                          + "\n".join(lines[-40:]))
    assert not failed, "\n\n".join(failed)
