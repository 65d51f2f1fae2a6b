"""The 考核 report's files: the Excel workbook opened with openpyxl, the HTML with its ranking, the config."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from integrations.report import kaohe_text
from integrations.report.kaohe_make import CONFIG, KaoheConfig, load_kaohe_config, make_kaohe_files
from tests.kaohe_scenario import NOW, REGIONS, WEEK, A, B, C, store


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
    assert headers == [c.header for c in kaohe_text.COLUMNS]
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
    with pytest.raises(ValueError, match=r"kaohe\.yaml: 未知的评分项"):
        load_kaohe_config(bad)
    bad.write_text("deadlines: {dispute_days: 0}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="positive"):
        load_kaohe_config(bad)
    good = tmp_path / "ok.yaml"
    good.write_text("weights: {ack: 1}\ndeadlines: {petition_days: 90}\n", encoding="utf-8")
    cfg = load_kaohe_config(good)
    assert cfg.weights["ack"] == 1.0 and cfg.weights["tasks"] == 0.0 and cfg.deadlines.petition.days == 90
