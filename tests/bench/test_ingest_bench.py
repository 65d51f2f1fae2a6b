"""The ingest benchmark runs end to end, and what it times is a full ingest (a bench whose runs stored
nothing, or fewer records than the bare insert, would flatter us)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import ingest_bench  # bench/ is not a package: found through sys.path


def test_the_bench_runs_and_each_ingest_run_stores_every_record(capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # In this process (the simulator it starts runs in its own): a Python start and the imports are
    # seconds, and the bench is the same code either way.
    monkeypatch.setattr(sys, "argv", ["ingest_bench.py", "--scale", "0.05", "--page-size", "100", "--repeat", "2"])
    ingest_bench.main()
    out = capsys.readouterr().out
    stored = int(re.search(r"^records: (\d+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert stored > 100
    runs = re.search(r"^ingest_source +: +[\d,]+ records/s +\(median of 2: ([\d,]+), ([\d,]+);", out, re.MULTILINE)
    assert runs is not None, out
    pairs = re.search(r"^ratio ingest_source / bare, run by run: ([\d.]+), ([\d.]+) ", out, re.MULTILINE)
    assert pairs is not None and all(float(p) > 0 for p in pairs.groups()), out
