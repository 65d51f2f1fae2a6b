"""Output of the ``fenghuo rules test`` and ``fenghuo backtest`` commands (the CLI wiring is in flows/)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from domain.messages import N_, Message
from rules.run.backtest import backtest, parse_jsonl
from rules.run.coverage import coverage
from rules.run.testing import Translate, format_results, run_tests

__all__ = ["print_backtest", "print_coverage", "print_tests"]


def print_tests(rulebook: Any, out: TextIO = sys.stdout, engine: str = "durable", tr: Translate = str) -> int:
    """Run the rulebook's tests, print failures and ``N 条通过，M 条未通过``; the exit code (1 on a failure).
    ``tr`` renders the messages (:data:`rules.run.testing.Translate`)."""
    results = run_tests(rulebook, engine, tr)
    print(format_results(results, tr), file=out)
    return 0 if all(r.passed for r in results) else 1


def print_coverage(rulebook: Any, out: TextIO = sys.stdout, listing: bool = False, required: bool = False,
                   tr: Translate = str) -> int:
    """Say which rules no test expects (an error line when ``required``, else a warning); with
    ``listing``, first one line per rule with the levels its tests expect. Returns how many are uncovered."""
    rules = coverage(rulebook)
    if listing:
        print(tr(Message(N_("覆盖情况：每条规则有测试期望的级别"))), file=out)
        for c in rules:
            got = ", ".join(c.expected) if c.covered else tr(Message(N_("无")))
            untested = tr(Message(N_("；未测试：{levels}"), levels=", ".join(c.untested)))
            print(f"{c.where}: {c.name}: {got}{untested if c.covered and c.untested else ''}", file=out)
    uncovered = [c for c in rules if not c.covered]
    tag = tr(Message(N_("错误") if required else N_("警告")))
    for c in uncovered:
        why = Message(N_("规则 {name} 没有任何测试期望它发出预警；每条规则至少需要一个触发的测试"), name=c.name)
        print(f"{c.where}: {tag}: {tr(why)}", file=out)
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
