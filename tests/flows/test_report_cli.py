"""``fenghuo report``: on an empty and on a populated store, JSON for scripts, one-line errors, no Prefect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flows.cli_report import report_cmd
from integrations.settings import PACKAGE_ROOT, get_settings
from integrations.store.db import open_store
from tests.report_scenario import store

app = typer.Typer()
app.command("report")(report_cmd)


@app.callback()
def _root() -> None:
    """Keeps ``report`` a subcommand, as the lead mounts it."""


runner = CliRunner()


@pytest.fixture
def populated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = tmp_path / "regions.yaml"
    names.write_text("regions:\n  '510104000000': 锦江区\n  '510105000000': 青羊区\n", encoding="utf-8")
    monkeypatch.setenv("FENGHUO_REGIONS", str(names))
    get_settings.cache_clear()
    engine = open_store(get_settings().resolved_database_url)
    store(engine)
    engine.dispose()


def test_empty_store_makes_an_empty_report(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--date", "2026-01-20", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "fenghuo-report-2026-01-20.html" in result.output
    md = (tmp_path / "r" / "fenghuo-report-2026-01-20.md").read_text(encoding="utf-8")
    assert "无在办红色、橙色预警。" in md


def test_populated_store_default_folder_and_json(populated: None) -> None:
    result = runner.invoke(app, ["report", "--date", "2026-01-20", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    folder = get_settings().home / "reports"
    assert data["html"] == str(folder / "fenghuo-report-2026-01-20.html")
    assert all(Path(p).exists() for p in [data["markdown"], data["html"], *data["charts"]])
    report = data["report"]
    assert report["totals"] == {"opened": 4, "acknowledged": 3, "escalated": 1, "resolved": 2}
    assert [w["id"] for w in report["open_severe"]] == [6, 1, 2, 9]
    assert {d["name"]: d["counts"]["opened"] for d in report["by_district"]} == {"锦江区": 2, "青羊区": 2}
    md = Path(data["markdown"]).read_text(encoding="utf-8")
    assert "| 锦江区（510104） | 2 | 2 | 0 | 2 |" in md


def test_populated_store_human_output(populated: None) -> None:
    result = runner.invoke(app, ["report", "--date", "2026-01-20"])
    assert result.exit_code == 0, result.output
    assert "当日新增预警 4 起" in result.output


@pytest.mark.parametrize(("date", "message"), [
    ("2026/01/20", "无效的日期 '2026/01/20'：请用 YYYY-MM-DD"),
    ("2999-01-01", "2999-01-01 尚未到来"),
])
def test_bad_dates_are_one_line_errors(date: str, message: str) -> None:
    result = runner.invoke(app, ["report", "--date", date])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_unwritable_folder_is_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["report", "--date", "2026-01-20", "--out", str(blocker / "sub")])
    assert result.exit_code == 1
    assert "无法写入报告目录" in result.output and "Traceback" not in result.output


def test_the_command_module_does_not_import_prefect() -> None:
    code = "import sys, flows.cli_report; assert 'prefect' not in sys.modules, 'prefect imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE_ROOT)


def test_a_bad_date_speaks_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.settings import get_settings

    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    result = runner.invoke(app, ["report", "--date", "2026/01/20"])
    assert result.exit_code == 1 and "invalid date '2026/01/20': use YYYY-MM-DD" in result.output, result.output
    assert "无效" not in result.output
