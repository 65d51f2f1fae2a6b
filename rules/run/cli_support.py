"""Output of the ``fenghuo rules test`` and ``fenghuo backtest`` commands (the CLI wiring is in flows/)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from rules.run.backtest import backtest, parse_jsonl
from rules.run.testing import format_results, run_tests

__all__ = ["print_backtest", "print_tests"]


def print_tests(rulebook: Any, out: TextIO = sys.stdout, engine: str = "durable") -> int:
    """Run the rulebook's tests, print failures and ``N passed, M failed``; the exit code (1 on a failure)."""
    results = run_tests(rulebook, engine)
    print(format_results(results), file=out)
    return 0 if all(r.passed for r in results) else 1


def print_backtest(
    rulebook: Any, records_file: Path, out: TextIO = sys.stdout, engine: str = "durable"
) -> int:
    """Backtest the JSON-lines ``records_file``; print one JSON object per warning. Exit code 0."""
    with records_file.open(encoding="utf-8") as lines:
        rows = backtest(rulebook, parse_jsonl(lines, getattr(rulebook, "kinds", None)), engine)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False), file=out)
    return 0
