"""Baselines (rule language 1.1) through the rule authors' commands: `rules check`, `rules test` and
`backtest --format jsonl` on a rule file outside the rulebook."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()

SURGE = """\
ruleset: surge
rules:
  - id: hotline-surge
    record: hotline
    window: {within: 24h, by: [community], aggregate: count}
    baseline: {samples: 2, every: 7d}
    levels:
      - {level: blue, when: {count: {gte: 3}, zscore: {gte: 2}}}
      - {level: yellow, when: {count: {gte: 4}, ratio: {gte: 4}}}
    summary: "{count} 件，过去 2 周同期平均 {expected}"
tests:
  - name: four against one a week is yellow
    records:
      - {kind: hotline, at: "2026-03-27T09:00:00+08:00", region: "510104001001", category: noise}
      - {kind: hotline, at: "2026-04-03T09:00:00+08:00", region: "510104001001", category: noise}
      - {kind: hotline, at: "2026-04-10T09:00:00+08:00", region: "510104001001", category: noise}
      - {kind: hotline, at: "2026-04-10T09:01:00+08:00", region: "510104001001", category: noise}
      - {kind: hotline, at: "2026-04-10T09:02:00+08:00", region: "510104001001", category: noise}
      - {kind: hotline, at: "2026-04-10T09:03:00+08:00", region: "510104001001", category: noise}
    expect:
      - {rule: hotline-surge, level: yellow, expected: 1, ratio: 4}
"""


def _records(path: Path) -> Path:
    rows = [{"kind": "hotline", "at": f"{day}T09:0{i}:00+08:00", "region": "510104001001", "category": "noise"}
            for day, n in (("2026-03-27", 1), ("2026-04-03", 1), ("2026-04-10", 4)) for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_check_test_and_backtest(tmp_path: Path) -> None:
    rules = tmp_path / "surge.yaml"
    rules.write_text(SURGE, encoding="utf-8")
    assert runner.invoke(app, ["rules", "check", str(rules)]).exit_code == 0
    tested = runner.invoke(app, ["rules", "test", str(rules)])
    assert tested.exit_code == 0 and "1 条通过，0 条未通过" in tested.stdout, tested.output
    result = runner.invoke(app, ["backtest", "--rules", str(rules), "--records", str(_records(tmp_path / "r.jsonl")),
                                 "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert (row["rule"], row["level"], row["occurrences"]) == ("hotline-surge", "yellow", 2)
    assert "[1, 1] → 期望 1，离散 0，倍数 4，标准分 3" in row["explanation"]


def test_a_baseline_on_a_rule_without_a_window_is_a_file_line_error(tmp_path: Path) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text("ruleset: bad\nrules:\n  - id: a\n    record: petition\n    baseline: {samples: 4, every: 7d}\n"
                     "    level: blue\n", encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(rules)])
    assert result.exit_code == 1
    assert f"{rules}:5: 'baseline' 只能与 'window' 一起使用" in result.stdout
