"""``fenghuo report --period week|month``: JSON for scripts, files written, one-line errors, the demo hook."""

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
from tests.cjk import assert_no_cjk
from tests.kaohe_scenario import NOW, A, B, C, store

app = typer.Typer()
app.command("report")(report_cmd)


@app.callback()
def _root() -> None:
    """Keeps ``report`` a subcommand, as the lead mounts it."""


runner = CliRunner()


@pytest.fixture
def populated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = tmp_path / "regions.yaml"
    names.write_text("regions:\n  '510104000000': 锦江区\n  '510105000000': 青羊区\n"
                     f"  '{A}': 甲街道\n  '{B}': 乙街道\n  '{C}': 丙街道\n", encoding="utf-8")
    monkeypatch.setenv("FENGHUO_REGIONS", str(names))
    get_settings.cache_clear()
    engine = open_store(get_settings().resolved_database_url)
    store(engine)
    engine.dispose()


def test_week_report_as_json(populated: None, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--period", "week", "--date", "2026-01-14", "--json",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["period"] == "2026-W03"
    assert data["xlsx"] == str(tmp_path / "out" / "fenghuo-kaohe-2026-W03.xlsx")
    assert all(Path(p).exists() for p in [data["html"], data["xlsx"], *data["charts"]])
    streets = data["report"]["streets"]
    assert [(s["rank"], s["name"], s["score"]) for s in streets] == [
        (1, "甲街道", 82.5), (2, "丙街道", 78.571429), (3, "乙街道", 0.0)]
    assert streets[2]["escalated"] == 1 and streets[2]["ack"] == {"met": 0, "breached": 1, "pending": 0, "rate": 0.0}
    # 青羊区 is street C alone (78.57); 锦江区 is A and B together (44.17).
    districts = data["report"]["districts"]
    assert [(d["name"], round(d["score"], 2)) for d in districts] == [("青羊区", 78.57), ("锦江区", 44.17)]


def test_month_report_human_output(populated: None) -> None:
    result = runner.invoke(app, ["report", "--period", "month", "--date", "2026-01-14"])
    assert result.exit_code == 0, result.output
    assert "烽火 考核月报 2026年1月" in result.output
    assert "fenghuo-kaohe-2026-01.xlsx" in result.output
    assert (get_settings().home / "reports" / "fenghuo-kaohe-2026-01.html").exists()


def test_the_default_is_the_last_complete_week(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--period", "week", "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["report"]["period"]["last"] < data["report"]["generated_at"][:10]


def test_period_day_is_the_daily_report(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--period", "day", "--date", "2026-01-20", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fenghuo-report-2026-01-20.md").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--period", "year"], "未知的周期 'year'：请用 day、week 或 month"),
    (["--period", "week", "--date", "2999-01-01"], "尚未开始"),
    (["--period", "month", "--date", "01/2026"], "无效的日期 '01/2026'：请用 YYYY-MM-DD"),
])
def test_bad_input_is_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_the_command_module_does_not_import_prefect() -> None:
    code = "import sys, flows.cli_kaohe; assert 'prefect' not in sys.modules, 'prefect imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE_ROOT)


def test_the_demo_hook_writes_the_week_and_returns_its_table(populated: None) -> None:
    from rich.console import Console

    from flows.demo_kaohe import kaohe_week

    table = kaohe_week(NOW, rows=1)
    out = Console(width=200, record=True)
    out.print(table)
    text = out.export_text()
    assert "考核周报 2026年第3周" in text
    assert text.index("甲街道") < text.index("乙街道") and "丙街道" not in text  # top 1 and bottom 1
    assert (get_settings().home / "reports" / "fenghuo-kaohe-2026-W03.xlsx").exists()


def test_the_json_label_follows_the_language(populated: None, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    result = runner.invoke(app, ["report", "--period", "week", "--date", "2026-01-14", "--json",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    period = json.loads(result.stdout)["report"]["period"]
    assert period == {"kind": "week", "first": "2026-01-12", "last": "2026-01-18",
                      "label": "week 3 of 2026 (01-12 to 01-18)"}  # the fields stay; the label is for people
    page = (tmp_path / "out" / "fenghuo-kaohe-2026-W03.html").read_text(encoding="utf-8")
    assert "Fenghuo grassroots governance assessment report (weekly)" in page


def test_month_report_human_output_in_english(populated: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    result = runner.invoke(app, ["report", "--period", "month", "--date", "2026-01-14"])
    assert result.exit_code == 0, result.output
    assert "Fenghuo monthly assessment report 1/2026" in result.output
    assert_no_cjk(result.output, data=("锦江区", "青羊区", "甲街道", "乙街道", "丙街道"))
