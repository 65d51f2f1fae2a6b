"""`fenghuo rules check|test` and `fenghuo backtest`: the rule authors' commands (docs/rules-language.md#commands)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

GOOD = """\
ruleset: sample
rules:
  - id: big-petition
    record: petition
    where: {people: {gte: 5}}
    levels:
      - {level: yellow}
      - {level: orange, when: {people: {gte: 50}}}
    group_by: [street]
    summary: "{people} 人"
tests:
  - name: five is yellow
    records:
      - {kind: petition, at: "2026-01-05T09:00:00+08:00", region: "510104001001", people: 5}
    expect:
      - {rule: big-petition, level: yellow, region: "510104001000"}
"""


def test_check_catalog_is_clean() -> None:
    result = runner.invoke(app, ["rules", "check"])
    assert result.exit_code == 0, result.output


def test_check_reports_file_and_line_and_checks_the_other_files(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(GOOD.replace("big-petition", "other").replace("people: {gte: 5}",
                                                                                     "peeple: {gte: 5}"),
                                       encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith(f"{tmp_path / 'bad.yaml'}:5: ") or lines[0].split(":")[1] == "5", lines[0]
    assert "是否应为 'people'" in lines[0]
    assert "Traceback" not in result.output


def test_check_missing_path_is_one_line() -> None:
    result = runner.invoke(app, ["rules", "check", "no/such/folder"])
    assert result.exit_code == 1
    assert "文件或文件夹不存在" in result.output and "Traceback" not in result.output


def test_rules_test_counts_and_fails(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    ok = runner.invoke(app, ["rules", "test", str(tmp_path)])
    assert ok.exit_code == 0 and "1 条通过，0 条未通过" in ok.stdout
    (tmp_path / "good.yaml").write_text(GOOD.replace("level: yellow, region", "level: red, region"),
                                        encoding="utf-8")
    bad = runner.invoke(app, ["rules", "test", str(tmp_path)])
    assert bad.exit_code == 1 and "0 条通过，1 条未通过" in bad.stdout


def test_rules_test_says_which_files_it_could_not_run(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(GOOD.replace("ruleset: sample", "ruleset: other").replace("big-petition", "other")
                      .replace('at: "2026-01-05T09:00:00+08:00"', 'at: "yesterday"'), encoding="utf-8")
    result = runner.invoke(app, ["rules", "test", str(tmp_path)])
    assert result.exit_code == 1 and result.stdout.splitlines()[-1] == "1 条通过，0 条未通过"
    assert f"1 个文件有错误，未加载，其中的测试没有运行：{broken}" in result.stderr.replace("\n", "")


def test_backtest_jsonl_prints_one_object_per_warning(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(GOOD, encoding="utf-8")
    records = tmp_path / "records.jsonl"
    rows = [{"kind": "petition", "at": "2026-01-05T10:00:00+08:00", "region": "510104001002", "people": 60},
            {"kind": "petition", "at": "2026-01-05T09:00:00+08:00", "region": "510104001001", "people": 5},
            {"kind": "petition", "at": "2026-01-05T09:30:00+08:00", "region": "510105001001", "people": 4}]
    records.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["backtest", "--rules", str(tmp_path / "rules.yaml"), "--records", str(records),
                                 "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(out) == 1
    (w,) = out
    assert set(w) >= {"rule", "level", "fingerprint", "region", "first_at", "last_at", "occurrences", "explanation"}
    # Sorted by time, the 5-person petition opens it and the 60-person one raises it to orange.
    assert (w["rule"], w["level"], w["region"], w["occurrences"]) == ("big-petition", "orange", "510104001000", 2)
    assert w["first_at"].startswith("2026-01-05T01:00") or w["first_at"].startswith("2026-01-05T09:00")


def test_backtest_bad_line_is_one_line_with_its_number(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text('{"kind": "petition", "at": "2026-01-05T09:00:00+08:00", "region": "510104001001"}\n'
                       "{not json\n", encoding="utf-8")
    result = runner.invoke(app, ["backtest", "--records", str(records), "--format", "jsonl"])
    assert result.exit_code == 1
    (line,) = [x for x in result.output.splitlines() if x.strip()]
    assert line.startswith(f"错误：{records}:2: ") and "Traceback" not in result.output


def test_commands_that_need_no_orchestration_never_import_prefect() -> None:
    """One after the other in one fresh process (each costs a process seconds of imports): Prefect still
    absent after a command means that command did not import it."""
    argvs = [["rules", "check"], ["rules", "test"], ["warnings", "list"]]
    code = ("import sys; from flows.cli import app\n"
            f"for argv in {argvs!r}:\n"
            "    try:\n        app(argv)\n    except SystemExit:\n        pass\n"
            "    assert 'prefect' not in sys.modules, f'prefect was imported by {argv}'\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_backtest_since_reads_the_stored_records() -> None:
    from datetime import UTC, datetime

    from domain.records import Record
    from flows.console import open_engine
    from integrations.store.db import session_scope
    from integrations.store.records import upsert_records

    at = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    with session_scope(open_engine()) as s:
        upsert_records(session=s, records=[
            Record(kind="petition", source="xinfang", id="1", at=at, region="510104001001",
                   attributes={"people": 320, "subject": "征地"}),
            Record(kind="petition", source="xinfang", id="0", at=datetime(2025, 12, 1, tzinfo=UTC),
                   region="510104001001", attributes={"people": 6, "subject": "征地"})])
    result = runner.invoke(app, ["backtest", "--since", "2026-01-01", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [(w["rule"], w["level"], w["occurrences"]) for w in out] == [("collective-petition", "red", 1)]


# -- language 1.1: warnings, coverage, readable failures ---------------------------------------------------

LINT = """\
ruleset: lint
rules:
  - id: land-petition
    record: petition
    where: {subject: {contains: 征地}}
    levels:
      - {level: orange, when: {people: {gte: 2}}}
      - {level: yellow, when: {people: {gte: 3}}}
tests:
  - name: never fires, whatever the subject
    records:
      - {kind: petition, at: "2026-01-05T09:00:00+08:00", region: "510104001001", people: 5, subject: 征地补偿}
    expect: []
"""


def test_check_warnings_are_file_line_warning_lines_and_keep_exit_0(tmp_path: Path) -> None:
    path = tmp_path / "lint.yaml"
    path.write_text(LINT, encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert [line.split(": 警告：")[0] for line in lines] == [f"{path}:5", f"{path}:8"], lines
    strict = runner.invoke(app, ["rules", "check", "--strict", str(path)])
    assert strict.exit_code == 1 and strict.stdout == result.stdout


def test_the_catalog_passes_strict_check_and_required_coverage() -> None:
    check = runner.invoke(app, ["rules", "check", "--strict"])
    assert check.exit_code == 0 and "warning" not in check.stdout, check.output
    test = runner.invoke(app, ["rules", "test", "--require-coverage"])
    assert test.exit_code == 0, test.output
    assert test.stdout.splitlines()[-1].endswith(" 条通过，0 条未通过")


def test_coverage_lists_levels_per_rule(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    result = runner.invoke(app, ["rules", "test", "--coverage", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stdout.splitlines() if "big-petition" in x]
    assert line.startswith(f"{tmp_path / 'good.yaml'}:3: big-petition: yellow") and "orange" in line  # untested
    assert result.stdout.splitlines()[-1] == "1 条通过，0 条未通过"


def test_a_rule_no_test_expects_warns_and_fails_when_coverage_is_required(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD.replace("    expect:\n      - {rule: big-petition, level: yellow, "
                                                     "region: \"510104001000\"}", "    expect: []")
                                        .replace("people: 5}", "people: 4}"), encoding="utf-8")
    plain = runner.invoke(app, ["rules", "test", str(tmp_path)])
    assert plain.exit_code == 0, plain.output
    assert f"{tmp_path / 'good.yaml'}:3: 警告: " in plain.stdout and "big-petition" in plain.stdout
    required = runner.invoke(app, ["rules", "test", "--require-coverage", str(tmp_path)])
    assert required.exit_code == 1
    (line,) = [x for x in required.stdout.splitlines() if ": 错误: " in x]
    assert line.startswith(f"{tmp_path / 'good.yaml'}:3: 错误: ") and "规则 big-petition" in line


def test_a_failing_test_names_its_line_and_shows_expected_against_got(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD.replace("level: yellow, region", "level: red, region"), encoding="utf-8")
    result = runner.invoke(app, ["rules", "test", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path}:12: ") and "five is yellow" in lines[0]  # the `- name:` line
    header, row = lines[1], lines[2]
    assert "期望" in header and "实际" in header and _column(header, "|") == _column(row, "|")
    left, right = row.split("|")
    assert "level=red" in left and "level=yellow" in right and "occurrences=1" in right
    assert "{" not in result.stdout  # no Python dicts
    assert lines[-1] == "0 条通过，1 条未通过"


def _column(line: str, char: str) -> int:
    """The terminal column of ``char`` in ``line`` (a Chinese character takes two)."""
    import unicodedata

    head = line[: line.index(char)]
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in head)


@pytest.mark.parametrize("argv", [["rules", "test", "--engine", "fast"],
                                  ["backtest", "--engine", "fast", "--records", "x.jsonl"]])
def test_an_unknown_engine_is_one_line(argv: list[str]) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 1
    assert result.output.startswith("错误：--engine 'fast'") and result.output.count("\n") == 1, result.output
    assert "durable" in result.output and "Traceback" not in result.output


def test_rules_test_speaks_english_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.settings import get_settings

    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    path = tmp_path / "good.yaml"
    path.write_text(GOOD.replace("level: yellow, region", "level: red, region"), encoding="utf-8")
    result = runner.invoke(app, ["rules", "test", "--require-coverage", str(tmp_path)])
    lines = result.stdout.splitlines()
    assert result.exit_code == 1 and lines[-1] == "0 passed, 1 failed"
    assert "FAILED" in lines[0] and "expected (1)" in lines[1] and "got (1)" in lines[1]
    assert not any("期望" in line or "未通过" in line for line in lines)


def test_rules_check_speaks_english_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.settings import get_settings

    (tmp_path / "bad.yaml").write_text(GOOD.replace("big-petition", "other").replace("people: {gte: 5}",
                                                                                     "peeple: {gte: 5}"),
                                       encoding="utf-8")
    chinese = runner.invoke(app, ["rules", "check", str(tmp_path)])
    assert "petition 记录没有字段 'peeple'；是否应为 'people'？" in chinese.stdout and "个错误" in chinese.stderr
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    english = runner.invoke(app, ["rules", "check", str(tmp_path)])
    assert english.exit_code == 1
    assert "unknown field 'peeple' for petition records; did you mean 'people'?" in english.stdout
    assert "1 files, 0 rules, 1 errors" in english.stderr
    assert "记录" not in english.stdout and "是否" not in english.stdout
