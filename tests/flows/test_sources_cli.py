"""``fenghuo sources check|test`` and ``fenghuo quarantine list|show|replay`` (no Prefect)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from domain.kinds import RecordKinds
from flows import cli_quarantine, cli_sources
from integrations.ingest.run import ingest_source
from integrations.settings import PACKAGE_ROOT, get_settings
from integrations.simulator import RunningSimulator, start_simulator
from integrations.sources import DEPARTMENTS, FakeSource
from integrations.store.db import open_store

app = typer.Typer()
app.add_typer(cli_sources.app, name="sources")
app.add_typer(cli_quarantine.app, name="quarantine")
runner = CliRunner()
KINDS = RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningSimulator]:
    with start_simulator(seed=3, days=1, scale=0.2, bad_rate=0.2) as s:
        monkeypatch.setenv("FENGHUO_SIMULATOR_URL", s.url)
        get_settings.cache_clear()
        yield s


def test_check_accepts_the_packaged_file_and_lists_errors_with_lines(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["sources", "check"])
    assert ok.exit_code == 0, ok.output
    assert "通过：" in ok.output and "中有 8 个数据源" in ok.output
    assert "hotline12345" in ok.output and "register_person" in ok.output
    bad = tmp_path / "s.yaml"
    bad.write_text("sources:\n  - name: x\n    kind: hotline\n    path: /x\n    fields: {a: colour}\n    nope: 1\n")
    result = runner.invoke(app, ["sources", "check", "--file", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:6: sources.0.nope：未知的键 'nope'" in result.output


def test_check_of_the_nyc_profile() -> None:
    result = runner.invoke(app, ["sources", "check", "-f", str(PACKAGE_ROOT / "integrations/data/sources-nyc311.yaml")])
    assert result.exit_code == 0, result.output
    assert "nyc311" in result.output and "filedrop" in result.output


def test_source_test_shows_records_and_rejections_and_stores_nothing(sim: RunningSimulator) -> None:
    result = runner.invoke(app, ["sources", "test", "hotline12345", "--limit", "40"])
    assert result.exit_code == 0, result.output
    assert "条记录" in result.output and "条被拒（将被隔离）" in result.output and "未存储任何数据" in result.output
    lines = [json.loads(x) for x in runner.invoke(app, ["sources", "test", "xinfang", "--json"]).output.splitlines()]
    assert lines and all("ok" in x for x in lines)
    assert all(x["person"].startswith("p_") for x in lines if x["ok"] and "person" in x)
    assert not (get_settings().home / "fenghuo.db").exists()  # nothing stored, no store even opened
    unknown = runner.invoke(app, ["sources", "test", "nope"])
    assert unknown.exit_code == 1 and "中没有数据源 'nope'" in unknown.output


def test_source_test_of_a_department_that_is_down_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_SIMULATOR_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("FENGHUO_HTTP_RETRIES", "0")
    get_settings.cache_clear()
    result = runner.invoke(app, ["sources", "test", "xinfang"])
    assert result.exit_code == 1 and "xinfang" in result.output


def test_quarantine_list_show_replay() -> None:
    engine = open_store(get_settings().resolved_database_url)
    petition = next(c for c in DEPARTMENTS if c.kind == "petition")
    item = {"id": "XF-1", "occurred_at": "2026-01-05T09:00:00+08:00", "region_code": "510104001001",
            "id_card": "510104199001011234", "people": 3}
    ingest_source(engine, FakeSource(petition, [{**item, "occurred_at": "2026-01-05 09:00"}, item]), kinds=KINDS,
                  key="k", now=datetime(2026, 2, 1, tzinfo=UTC))
    engine.dispose()
    listed = runner.invoke(app, ["quarantine", "list", "--json"])
    [row] = [json.loads(x) for x in listed.output.splitlines()]
    assert row["source"] == "xinfang" and "不带时区的时间" in row["reason"]
    shown = runner.invoke(app, ["quarantine", "show", str(row["id"])])
    assert shown.exit_code == 0 and "510104199001011234" not in shown.output and '"p_' in shown.output
    assert runner.invoke(app, ["quarantine", "show", "999"]).exit_code == 1
    replay = runner.invoke(app, ["quarantine", "replay", "--all", "--json"])
    report = json.loads(replay.output)
    assert report["replayed"] == [] and str(row["id"]) in report["still_invalid"]
    assert runner.invoke(app, ["quarantine", "replay"]).exit_code == 1



def _quarantine_one() -> int:
    engine = open_store(get_settings().resolved_database_url)
    petition = next(c for c in DEPARTMENTS if c.kind == "petition")
    item = {"id": "XF-1", "occurred_at": "2026-01-05 09:00", "region_code": "510104001001", "people": 3}
    ingest_source(engine, FakeSource(petition, [item]), kinds=KINDS, key="k", now=datetime(2026, 2, 1, tzinfo=UTC))
    engine.dispose()
    return int(json.loads(runner.invoke(app, ["quarantine", "list", "--json"]).output)["id"])


def test_quarantine_speaks_chinese_by_default_and_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    qid = _quarantine_one()
    zh = runner.invoke(app, ["quarantine", "show", str(qid)]).output
    assert re.search(r"收到时间：\d{4}-\d\d-\d\d \d\d:\d\d（北京时间）", zh) and "重放时间：未重放" in zh, zh
    zh_replay = runner.invoke(app, ["quarantine", "replay", "--all"]).output
    assert zh_replay.startswith("已重放 0 条") and "仍无效 1 条" in zh_replay, zh_replay
    assert runner.invoke(app, ["quarantine", "show", "999"]).output.startswith("错误：没有隔离编号 999")
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    en = runner.invoke(app, ["quarantine", "show", str(qid)]).output
    assert re.search(r"received: [-\d]{10} \d\d:\d\d \(Beijing time\)", en) and "replayed: not replayed" in en, en
    en_replay = runner.invoke(app, ["quarantine", "replay", "--all"]).output
    assert en_replay.startswith("replayed 0 (stored: 0 new") and "still invalid 1" in en_replay, en_replay
    missing = runner.invoke(app, ["quarantine", "show", "999"])
    assert missing.exit_code == 1 and missing.output.startswith("error: no quarantine entry 999"), missing.output
    # The stored reason (Chinese, prefixed by the replay's code) reads in English, the whole entry with it.
    reason = json.loads(runner.invoke(app, ["quarantine", "list", "--json"]).output)["reason"]
    assert reason.startswith("replayed ") and "still invalid: " in reason, reason
    shown = runner.invoke(app, ["quarantine", "show", str(qid)]).output
    assert not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", reason + shown), reason + shown


def test_the_commands_never_import_prefect() -> None:
    code = ("import sys; from flows import cli_sources, cli_quarantine; "
            "assert not any(m.startswith('prefect') for m in sys.modules), 'prefect imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE_ROOT)


def test_check_warns_of_a_secret_that_is_not_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("sources:\n  - name: x\n    kind: hotline\n    path: /x\n    fields: {c: category}\n"
                    "    auth: {type: bearer, secret: x-token}\n")
    result = runner.invoke(app, ["sources", "check", "-f", str(path)])
    assert result.exit_code == 0
    assert f"{path}:2: 警告：x：密钥 'x-token' 未在 FENGHUO_SOURCE_SECRETS 中设置" in result.output
    monkeypatch.setenv("FENGHUO_SOURCE_SECRETS", '{"x-token": "t"}')
    get_settings.cache_clear()
    ok = runner.invoke(app, ["sources", "check", "-f", str(path)])
    assert ok.exit_code == 0 and "is not set" not in ok.output


def test_check_says_when_the_ingest_runs_without_its_c_code(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.ingest import speedups

    monkeypatch.setattr(speedups, "UNAVAILABLE", None)
    assert "没有 C 扩展" not in runner.invoke(app, ["sources", "check"]).output
    monkeypatch.setattr(speedups, "UNAVAILABLE", "integrations.ingest._speedups is not built (test)")
    result = runner.invoke(app, ["sources", "check"])
    expected = "警告：采集在没有 C 扩展的情况下运行：integrations.ingest._speedups is not built"
    assert result.exit_code == 0 and expected in result.output


def test_sources_check_speaks_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.ingest import speedups
    from integrations.settings import get_settings

    monkeypatch.setattr(speedups, "UNAVAILABLE", "integrations.ingest._speedups is not built (test)")
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    result = runner.invoke(app, ["sources", "check"])
    assert result.exit_code == 0 and "ok: 8 sources in" in result.output
    assert "warning: the ingest runs without its C code" in result.output and "数据源" not in result.output


def test_sources_file_errors_speak_english_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.settings import get_settings

    bad = tmp_path / "s.yaml"
    bad.write_text("sources:\n  - name: a\n    kind: petition\n    nope: 1\n    path: /a\n    fields: {x: y}\n",
                   encoding="utf-8")
    chinese = runner.invoke(app, ["sources", "check", "--file", str(bad)])
    assert chinese.exit_code == 1 and "sources.0.nope：未知的键 'nope'" in chinese.output, chinese.output
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    english = runner.invoke(app, ["sources", "check", "--file", str(bad)])
    assert english.exit_code == 1 and "sources.0.nope: unknown key 'nope'" in english.output, english.output
    assert "未知" not in english.output
    unknown = runner.invoke(app, ["sources", "test", "nope"])
    assert unknown.exit_code == 1 and "no source 'nope' in " in unknown.output and "数据源" not in unknown.output
