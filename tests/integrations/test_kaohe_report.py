"""The 考核 report's files: the Excel workbook opened with openpyxl, the HTML with its ranking, the config."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from domain.kaohe.period import period_containing
from domain.regions import Tier
from integrations.i18n import _
from integrations.report import kaohe_text
from integrations.report.kaohe_charts import score_chart
from integrations.report.kaohe_excel import write_workbook
from integrations.report.kaohe_html import render_kaohe_html
from integrations.report.kaohe_make import CONFIG, KaoheConfig, load_kaohe_config, make_kaohe_files
from integrations.settings import get_settings
from tests.cjk import assert_no_cjk, has_cjk
from tests.kaohe_scenario import NOW, REGIONS, WEEK, A, B, C, store

NAMES = ("成都市", "锦江区", "青羊区", "甲街道", "乙街道", "丙街道")
"""Region names: data, shown as recorded in any language."""


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> object:
    from integrations.store.db import open_store

    folder = tmp_path_factory.mktemp("kaohe")
    engine: sa.Engine = open_store(f"sqlite:///{folder}/fenghuo.db")
    try:
        store(engine)
        return make_kaohe_files(engine, WEEK, folder / "out", now=NOW, regions=REGIONS, config=KaoheConfig())
    finally:
        engine.dispose()


def test_the_workbook_has_a_sheet_per_tier_and_the_definitions(made: object) -> None:
    from integrations.report.kaohe_make import KaoheFiles

    assert isinstance(made, KaoheFiles)
    assert made.xlsx_path.name == "fenghuo-kaohe-2026-W03.xlsx"
    wb = load_workbook(made.xlsx_path)
    assert wb.sheetnames == ["区县", "街道", "指标说明"]
    streets = wb["街道"]
    headers = [c.value for c in streets[1]]
    assert headers == [c.heading for c in kaohe_text.COLUMNS] == [c.header for c in kaohe_text.COLUMNS]
    assert headers[:5] == ["排名", "名称", "区划代码", "综合得分", "收到预警"]
    assert streets.freeze_panes == "A2" and wb["区县"].freeze_panes == "A2"
    rows = [[c.value for c in row] for row in streets.iter_rows(min_row=2)]
    assert [(r[0], r[1], r[2]) for r in rows] == [(1, "甲街道", A), (2, "丙街道", C), (3, "乙街道", B)]
    first = dict(zip(headers, rows[0], strict=True))
    assert first["综合得分"] == 82.5 and first["办结及时率"] == 0.5 and first["签收及时率"] == 1
    assert first["信访按期办结数"] == 1 and first["纠纷按期化解应考核"] == 1
    assert dict(zip(headers, rows[1], strict=True))["走访按时完成率"] is None  # nothing judged: empty
    pct = headers.index("签收及时率") + 1
    assert streets.cell(row=2, column=pct).number_format == "0.0%"
    assert streets.cell(row=2, column=headers.index("综合得分") + 1).number_format == "0.0"
    assert {c.value for c in wb["区县"]["B"][1:]} == {"锦江区", "青羊区"}
    definitions = {row[0].value: row[1].value for row in wb["指标说明"].iter_rows(min_row=2)}
    assert {"签收及时率", "被升级预警", "综合得分", "排名"} <= definitions.keys()
    assert "60 日" in definitions["信访按期办结率"] and "72 小时" in definitions["走访按时完成率"]


def test_the_html_shows_the_ranking_and_stands_alone(made: object) -> None:
    from integrations.report.kaohe_make import KaoheFiles

    assert isinstance(made, KaoheFiles)
    html = made.html_path.read_text(encoding="utf-8")
    assert "2026年第3周" in html and "街道乡镇排名（3 个）" in html and "区县排名（2 个）" in html
    assert "街道乡镇第一：甲街道（82.5 分），末位：乙街道（0.0 分）" in html
    table = html[html.index("二、街道乡镇排名"):]
    assert table.index("甲街道") < table.index("丙街道") < table.index("乙街道")
    assert "<td class=\"n\">82.5</td>" in html and "50.0%" in html
    assert html.count("<svg") == 2 and "指标说明" in html
    # Nothing fetched on opening: no scripts, stylesheets, images or fonts from elsewhere (the SVG's
    # xmlns URLs are names, not fetched).
    assert not any(x in html for x in ("<script", "<link", 'src="http', 'href="http', "url(http", "@import"))
    assert all(p.exists() and p.suffix == ".svg" for p in made.charts)


def test_the_packaged_config_and_a_bad_one(tmp_path: Path) -> None:
    packaged = load_kaohe_config(CONFIG)
    assert packaged == KaoheConfig()  # the file states the defaults
    assert load_kaohe_config(tmp_path / "missing.yaml") == KaoheConfig()
    bad = tmp_path / "kaohe.yaml"
    bad.write_text("weights: {speed: 1}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"kaohe\.yaml：未知的评分项"):
        load_kaohe_config(bad)
    bad.write_text("deadlines: {dispute_days: 0}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="时限须为正数"):
        load_kaohe_config(bad)
    good = tmp_path / "ok.yaml"
    good.write_text("weights: {ack: 1}\ndeadlines: {petition_days: 90}\n", encoding="utf-8")
    cfg = load_kaohe_config(good)
    assert cfg.weights["ack"] == 1.0 and cfg.weights["tasks"] == 0.0 and cfg.deadlines.petition.days == 90


def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()


def test_the_html_in_english_has_no_chinese_but_the_names(made: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.report.kaohe_make import KaoheFiles

    assert isinstance(made, KaoheFiles)
    _english(monkeypatch)
    page = render_kaohe_html(made.report)
    assert_no_cjk(page, data=NAMES)
    for words in ('<html lang="en">', "Fenghuo grassroots governance assessment report (weekly)",
                  "week 3 of 2026 (01-12 to 01-18)", "2. Street and township ranking (3)",
                  "Streets and townships: first 甲街道 (82.5), last 乙街道 (0.0)",
                  "made 2026-01-19 08:00 (Beijing time)",
                  "<th>division code</th>", "3. Definitions", "within 60 days"):
        assert words in page, words


def test_the_workbook_in_english(made: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.report.kaohe_make import KaoheFiles

    assert isinstance(made, KaoheFiles)
    _english(monkeypatch)
    wb = load_workbook(write_workbook(made.report, tmp_path / "en.xlsx"))
    assert wb.sheetnames == ["district", "street", "definitions"]
    assert wb.properties.title == ("Fenghuo grassroots governance assessment report (weekly) — "
                                   "week 3 of 2026 (01-12 to 01-18)")
    cells = [str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert_no_cjk("\n".join(cells), data=NAMES)
    assert [c.value for c in wb["street"][1]][:4] == ["rank", "name", "division code", "composite score"]
    assert "甲街道" in cells  # names stay as recorded


def test_the_chart_speaks_the_language_in_force(made: object, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.report.kaohe_make import KaoheFiles

    assert isinstance(made, KaoheFiles)
    zh = made.charts[1].read_text(encoding="utf-8")  # font None or a CJK font: Chinese as text or paths
    _english(monkeypatch)
    title = _(kaohe_text.TIER_WORDS[Tier.street].chart).format(period=kaohe_text.period_label(WEEK))
    svg = score_chart([], tmp_path / "empty.svg", font=None, title=title).read_text(encoding="utf-8")
    assert "week 3 of 2026 (01-12 to 01-18): street and township composite scores" in svg
    assert "nothing to judge in this period" in svg and "composite score" not in zh
    assert_no_cjk(svg)
    ranked = score_chart(made.report.streets, tmp_path / "s.svg", font=None, title="x").read_text(encoding="utf-8")
    assert "composite score" in ranked
    assert_no_cjk(ranked, data=NAMES)


def test_chinese_is_the_default(made: object) -> None:
    from integrations.report.kaohe_make import KaoheFiles

    assert isinstance(made, KaoheFiles)
    page = render_kaohe_html(made.report)
    assert '<html lang="zh-CN">' in page and "考核期：2026年第3周（01月12日至01月18日）（北京时间）" in page
    assert "生成于 2026-01-19 08:00（北京时间）" in page and "三、指标说明" in page
    assert has_cjk(page.replace("甲街道", ""))


@pytest.mark.parametrize(("lang", "week", "month"), [
    ("zh", "2026年第3周（01月12日至01月18日）", "2026年1月"),
    ("en", "week 3 of 2026 (01-12 to 01-18)", "1/2026"),
])
def test_period_labels_and_the_json_label(made: object, lang: str, week: str, month: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.report.kaohe_make import KaoheFiles

    assert isinstance(made, KaoheFiles)
    monkeypatch.setenv("FENGHUO_LANG", lang)
    get_settings.cache_clear()
    assert kaohe_text.period_label(WEEK) == week
    assert kaohe_text.period_label(period_containing("month", WEEK.first)) == month
    data = kaohe_text.report_dict(made.report)
    assert data["period"] == {"kind": "week", "first": "2026-01-12", "last": "2026-01-18", "label": week}
