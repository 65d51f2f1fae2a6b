"""Output of the ``fenghuo rules test`` and ``fenghuo backtest`` commands (the CLI wiring is in flows/)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from rules.run.backtest import backtest, parse_jsonl
from rules.run.coverage import coverage
from rules.run.testing import format_results, run_tests

__all__ = ["print_backtest", "print_coverage", "print_tests"]


def print_tests(rulebook: Any, out: TextIO = sys.stdout, engine: str = "durable") -> int:
    """Run the rulebook's tests, print failures and ``N passed, M failed``; the exit code (1 on a failure)."""
    results = run_tests(rulebook, engine)
    print(format_results(results), file=out)
    return 0 if all(r.passed for r in results) else 1


def print_coverage(rulebook: Any, out: TextIO = sys.stdout, listing: bool = False, required: bool = False) -> int:
    """Say which rules no test expects (an error line when ``required``, else a warning); with
    ``listing``, first one line per rule with the levels its tests expect. Returns how many are uncovered."""
    rules = coverage(rulebook)
    if listing:
        print("覆盖情况：每条规则有测试期望的级别 (coverage: levels some test expects, per rule)", file=out)
        for c in rules:
            got = ", ".join(c.expected) if c.covered else "无 none"
            missing = f"；未测试 untested: {', '.join(c.untested)}" if c.covered and c.untested else ""
            print(f"{c.where}: {c.name}: {got}{missing}", file=out)
    uncovered = [c for c in rules if not c.covered]
    tag = "error" if required else "warning"
    for c in uncovered:
        print(f"{c.where}: {tag}: 规则 {c.name} 没有任何测试期望它发出预警；每条规则至少需要一个触发的测试 "
              f"(no test expects rule '{c.rule.id}' at any level)", file=out)
    return len(uncovered)


def print_backtest(
    rulebook: Any, records_file: Path, out: TextIO = sys.stdout, engine: str = "durable"
) -> int:
    """Backtest the JSON-lines ``records_file``; print one JSON object per warning. Exit code 0."""
    with records_file.open(encoding="utf-8") as lines:
        rows = backtest(rulebook, parse_jsonl(lines, getattr(rulebook, "kinds", None)), engine)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False), file=out)
    return 0
