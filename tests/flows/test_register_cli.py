"""``fenghuo register import|list|show|close`` against the configured store: a GBK export imported with its
row report in Chinese, listed and shown by pseudonym only, closed once (audited), refusals one line each."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from flows.cli import app
from flows.console import open_engine
from integrations.settings import get_settings
from integrations.store.models import AuditRow
from integrations.store.registers import REGISTER_CLOSED

runner = CliRunner()
G1 = "510104001001001"
ID = "510104199001011234"


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "民政台账.csv"
    path.write_bytes("\n".join(["证件号码,人员类别,所属网格,纳入日期,截止日期",
                                f"{ID},独居老人,{G1},2026-01-01,",
                                f"510104198502023456,留守儿童,{G1},2026-01-01,",
                                f"510104198502023457,低保户,{G1},2026-01-01,"]).encode("gbk"))
    return path


def test_import_list_show_close(tmp_path: Path) -> None:
    path = _file(tmp_path)
    dry = runner.invoke(app, ["register", "import", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "试导入（未写入）" in dry.output and "编码：GBK" in dry.output
    result = runner.invoke(app, ["register", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "读取 3 行，保留 2 行（新增 2" in result.output and "拒绝 1 行" in result.output
    assert "未知类别 1 行（第 4 行）" in result.output and "第 4 行：未知类别「低保户」" in result.output
    again = json.loads(runner.invoke(app, ["register", "import", str(path), "--json"]).output)
    assert (again["added"], again["unchanged"], again["refused_by_reason"]) == (0, 2, {"unknown_category": 1})

    listed = runner.invoke(app, ["register", "list", "--category", "独居老人", "--json"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["category"], r["grid"], r["next_due"] is not None) for r in rows] == [("living_alone_elderly", G1, True)]
    assert rows[0]["person"].startswith("p_") and ID not in listed.output
    table = runner.invoke(app, ["register", "list", "--grid", "510104001000"])
    assert "台账 2 人" in table.output and ID not in table.output
    assert "没有符合条件" in runner.invoke(app, ["register", "list", "--grid", "510105000000"]).output

    entry = rows[0]["id"]
    shown = runner.invoke(app, ["register", "show", str(entry)])
    assert shown.exit_code == 0 and "每 7 天走访" in shown.output and "民政台账.csv 第 2 行" in shown.output
    assert ID not in shown.output and rows[0]["person"] in shown.output

    closed = runner.invoke(app, ["register", "close", str(entry), "--reason", "迁出本市"])
    assert closed.exit_code == 0 and "已注销" in closed.output
    twice = runner.invoke(app, ["register", "close", str(entry), "--reason", "迁出本市"])
    assert twice.exit_code == 1 and "无需再次注销" in twice.output
    assert json.loads(runner.invoke(app, ["register", "show", str(entry), "--json"]).output)["next_due"] is None
    assert len(runner.invoke(app, ["register", "list", "--json"]).output.splitlines()) == 1
    assert len(runner.invoke(app, ["register", "list", "--all", "--json"]).output.splitlines()) == 2
    with Session(open_engine()) as s:
        audit = s.exec(select(AuditRow).where(AuditRow.action == REGISTER_CLOSED)).one()
    assert (audit.reason, audit.detail["register"]) == ("迁出本市", entry)


def test_refusals_are_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("身份证号,类别\n1,独居老人\n", encoding="utf-8")
    for args, words in [(["import", str(bad)], "未导入：bad.csv：缺少必需的列：网格"),
                        (["import", str(tmp_path / "nope.csv")], "找不到文件"),
                        (["show", "99"], "台账中没有 #99"), (["close", "99", "--reason", "x"], "台账中没有 #99"),
                        (["close", "1", "--reason", " "], "--reason 不能为空"),
                        (["list", "--category", "低保户"], "未知类别"), (["list", "--grid", "12"], "区域代码")]:
        result = runner.invoke(app, ["register", *args])
        assert result.exit_code == 1 and words in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_register_commands_never_import_prefect(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = _file(tmp_path)
    code = ("import sys; from flows.cli import app\n"
            "for argv in (['register', 'import', sys.argv[1]], ['register', 'list']):\n"
            "    try:\n        app(argv)\n    except SystemExit:\n        pass\n"
            "assert 'prefect' not in sys.modules, 'prefect was imported'\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], cwd=Path(__file__).parents[2],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "新增 2" in proc.stdout


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def test_the_register_commands_speak_english_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The interface's words, reasons and refusals in English; what stays Chinese is data (file name,
    # category titles from the policy file, the reason typed for a close).
    path = _file(tmp_path)
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    result = runner.invoke(app, ["register", "import", str(path)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    for text in ("imported: 3 rows read, 2 kept (2 new", "1 refused", "unknown category: 1 rows (lines 4)",
                 "line 4: unknown category \"低保户\"; known: ", "encoding: GBK"):
        assert text in said, text
    shown = runner.invoke(app, ["register", "show", "1"])
    assert shown.exit_code == 0 and "a visit every 7 days" in shown.output and "(Beijing time)" in shown.output
    for label in ("台账 #", "人员", "类别", "网格 ", "期间", "下次走访", "来源", "北京时间", "在册", "化名", "第 2 行"):
        assert label not in shown.output, label  # the places and the file name are data, the labels are not
    assert "register: 2 people" in runner.invoke(app, ["register", "list"]).output
    closed = runner.invoke(app, ["register", "close", "1", "--reason", "moved"])
    assert closed.exit_code == 0 and "register entry #1 closed: moved." in " ".join(closed.output.split())
    for args in (["register", "close", "1", "--reason", "moved"], ["register", "close", "1", "--reason", " "],
                 ["register", "import", str(tmp_path / "none.csv")], ["register", "list", "--category", "x"],
                 ["register", "list", "--grid", "51"], ["register", "show", "99"]):
        refused = runner.invoke(app, args)
        line = " ".join(refused.output.split())
        assert refused.exit_code == 1 and line.startswith("error: "), line
        assert not CJK.findall(line.split("known are")[0]), line  # the category titles listed are data


def test_a_whole_file_refusal_is_english_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    refused = runner.invoke(app, ["register", "import", str(path)])
    line = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "not imported: old.xls is an old Excel (.xls) file" in line
    assert not CJK.findall(line), line


def test_the_json_report_of_an_import_reads_in_the_language_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cjk import has_cjk
    from tests.language import speak

    path = tmp_path / "register.csv"
    path.write_text("\n".join(["证件号码,人员类别,所属网格,纳入日期,截止日期", f"12345,独居老人,{G1},2026-01-01,",
                               "510104198502023456,独居老人,999,2026-01-01,"]), encoding="utf-8")
    zh = json.loads(runner.invoke(app, ["register", "import", str(path), "--json", "--dry-run"]).output)
    assert [p["line"] for p in zh["problems"]] == [2, 3] and all(has_cjk(p["message"]) for p in zh["problems"]), zh
    speak(monkeypatch, "en")
    en = json.loads(runner.invoke(app, ["register", "import", str(path), "--json", "--dry-run"]).output)
    assert [p["reason"] for p in en["problems"]] == [p["reason"] for p in zh["problems"]]
    for problem in en["problems"]:
        assert problem["message"] and not has_cjk(problem["message"]), problem
    with Session(open_engine()) as s:  # a dry run audits nothing; the messages were never stored
        assert not list(s.exec(select(AuditRow)))
