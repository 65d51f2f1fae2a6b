"""The ingest benchmark runs end to end, and what it times is a full ingest (a bench whose runs stored
nothing, or fewer records than the bare insert, would flatter us)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_bench_runs_and_each_ingest_run_stores_every_record() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ingest_bench.py"), "--scale", "0.05", "--page-size", "100",
         "--repeat", "2"],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=True,
    ).stdout
    stored = int(re.search(r"^records: (\d+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert stored > 100
    runs = re.search(r"^ingest_source +: +[\d,]+ records/s +\(median of 2: ([\d,]+), ([\d,]+);", out, re.MULTILINE)
    assert runs is not None, out
    pairs = re.search(r"^ratio ingest_source / bare, run by run: ([\d.]+), ([\d.]+) ", out, re.MULTILINE)
    assert pairs is not None and all(float(p) > 0 for p in pairs.groups()), out
