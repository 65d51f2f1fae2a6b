"""The latency benchmark, tiny: pushes through the intake reach the webhook receiver as orange warnings via
the resident evaluator's delivery, the evaluator killed with SIGKILL and restarted on the way; the run
reports every figure and closes with the line `p95 intake→delivered: N ms`."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import latency_bench  # bench/ is not a package: found through sys.path


@pytest.mark.slow
@pytest.mark.integration
def test_tiny_run_delivers_pushed_records_and_reports_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert latency_bench.main(["--tiny", "--db", "sqlite"]) == 0
    out = capsys.readouterr().out
    for figure in ("intake→delivered (orange/red): p50", "intake→stored (the push's round trip): p50",
                   "restart to caught up after kill -9:", "duplicates at the receiver:",
                   "per batch of 100 records at steady state: median", "checkpoint: write"):
        assert figure in out, out
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"p95 intake→delivered: (\d+) ms", last)
    assert match, last
    assert 0 < int(match.group(1)) < 60_000


def test_percentiles_are_of_the_samples() -> None:
    xs = [i / 1000 for i in range(1, 101)]
    assert latency_bench._percentiles(xs) == "p50 50 ms, p95 95 ms, p99 99 ms (n=100)"
    assert latency_bench._percentiles([]) == "no samples"
    assert not math.isnan(float(latency_bench._percentiles([0.2]).split()[1]))
