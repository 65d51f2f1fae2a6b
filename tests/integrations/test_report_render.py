"""The 日报's files: Markdown and HTML carry the figures, the charts exist, matplotlib stays quiet."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from domain.situation.compute import SituationReport, compute_report
from integrations.report import charts
from integrations.report.html import render_html
from integrations.report.make import make_report, parse_day
from integrations.report.markdown import render_markdown
from tests.cjk import assert_no_cjk
from tests.report_scenario import NOW, REGIONS, D, audits, store, warnings


def _report() -> SituationReport:
    views = [w for w in warnings() if w.id != 8]
    return compute_report(day=D, warnings=views, audits=audits(views), now=NOW, regions=REGIONS)


def test_markdown_has_the_figures_and_red_orange_first() -> None:
    md = render_markdown(_report(), charts={"trend": "t.svg", "districts": "d.svg"})
    assert md.startswith("# 烽火 社会稳定风险预警日报 — 2026-01-20\n")
    severe = md.index("在办红色、橙色预警（4 起）")
    assert severe < md.index("当日概况") < md.index("各区县情况") < md.index("时限执行情况")
    assert "| 合计 | 4 | 3 | 1 | 2 | 5 |" in md
    assert "| 橙色（严重） | 2 | 0 | 1 | 1 | 2 |" in md
    assert "| 锦江区（510104） | 2 | 2 | 0 | 2 |" in md
    assert "签收及时率 40.0%（按时 2，超时 3，未到期 0）" in md
    assert "未按时办结预警：#5" in md
    assert "| 1 | petition-surge | 信访激增 | 2 |" in md
    assert "![近30日新增预警](t.svg)" in md and "![各区县预警处置](d.svg)" in md
    # Red 6 (opened D-2) before red 1, then the oranges.
    rows = [line for line in md.splitlines() if line.startswith("| #")]
    assert [r.split(" | ")[0] for r in rows[:4]] == ["| #6", "| #1", "| #2", "| #9"]
    assert "超时未签收" in rows[2]


def test_html_is_self_contained_and_escapes() -> None:
    report = _report()
    page = render_html(report, charts={"trend": '<?xml version="1.0"?>\n<svg id="t"></svg>'})
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<title>烽火 社会稳定风险预警日报 — 2026-01-20</title>" in page
    assert '<svg id="t"></svg>' in page and "<?xml" not in page
    assert "src=" not in page and "<script" not in page and "http" not in page
    assert page.index("一、在办红色、橙色预警") < page.index("二、当日概况")
    assert "签收及时率 40.0%" in page


def test_charts_are_svg_with_level_colours_and_no_glyph_warnings(tmp_path: Path) -> None:
    report = _report()
    font = charts.cjk_font()  # None on machines without a CJK font: English labels then
    trend = charts.trend_chart(report, tmp_path / "trend.svg", font=font)
    districts = charts.district_chart(report, tmp_path / "districts.svg", font=font)
    svg = trend.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for colour in ("#1f6feb", "#d4a72c", "#f0883e", "#da3633"):
        assert colour in svg
    assert districts.stat().st_size > 1000
    # Same figures, same bytes: the SVG carries no date and fixed ids.
    again = charts.trend_chart(report, tmp_path / "again.svg", font=font)
    assert again.read_bytes() == trend.read_bytes()


def test_the_legend_names_levels_as_the_tables_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.settings import get_settings

    zh = charts.trend_chart(_report(), tmp_path / "zh.svg", font=None).read_text(encoding="utf-8")
    assert "红色（特别严重）" in zh and "蓝色（一般）" in zh
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    en = charts.trend_chart(_report(), tmp_path / "en.svg", font=None).read_text(encoding="utf-8")
    assert "red (I, extremely severe)" in en and "blue (IV, general)" in en


def test_make_report_writes_markdown_html_and_charts(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    store(sqlite_engine)
    files = make_report(sqlite_engine, "2026-01-20", tmp_path / "out", now=NOW, regions=REGIONS)
    assert files.markdown_path.name == "fenghuo-report-2026-01-20.md"
    assert files.html_path.exists() and files.markdown_path.exists()
    assert [p.name for p in files.charts] == ["fenghuo-report-2026-01-20-trend.svg",
                                              "fenghuo-report-2026-01-20-districts.svg"]
    assert all(p.parent == files.markdown_path.parent and p.exists() for p in files.charts)
    md = files.markdown_path.read_text(encoding="utf-8")
    assert "(fenghuo-report-2026-01-20-trend.svg)" in md and "| 合计 | 4 | 3 | 1 | 2 | 5 |" in md
    html = files.html_path.read_text(encoding="utf-8")
    assert html.count("<svg") >= 2
    assert files.report is not None and files.report.totals.opened == 4


def test_make_report_on_an_empty_store(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    files = make_report(sqlite_engine, D, tmp_path, now=NOW, regions=REGIONS)
    md = files.markdown_path.read_text(encoding="utf-8")
    assert "无在办红色、橙色预警。" in md and "签收及时率 —" in md
    assert all(p.exists() for p in files.charts)


def test_parse_day() -> None:
    assert parse_day("2026-01-20") == D
    assert parse_day(None, now=NOW) == NOW.date()
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_day("20/01/2026")


def _data() -> list[str]:
    """Rule titles and region names: data, shown as recorded in any language."""
    return [w.title for w in warnings()] + list(REGIONS.names.values())


def test_every_shown_time_carries_its_zone() -> None:
    md, page = render_markdown(_report()), render_html(_report())
    for text in (md, page):
        assert "发出时间（北京时间）" in text and "签收状态（时间为北京时间）" in text
        assert ("统计日：2026-01-20（北京时间）· 数据截至 2026-01-20 24:00（北京时间）"
                "· 生成于 2026-01-21 08:00（北京时间）") in text
    assert "| #1 | 红色（特别严重） | 人员聚集 | 成都市 / 锦江区 / 春熙路街道 / 和平社区 | 2026-01-20 09:00 |" in md


def test_the_english_report_has_no_chinese_but_its_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.settings import get_settings

    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    report = _report()
    md = render_markdown(report, charts={"trend": "t.svg", "districts": "d.svg"})
    svgs = [charts.trend_chart(report, tmp_path / "t.svg", font=None).read_text(encoding="utf-8"),
            charts.district_chart(report, tmp_path / "d.svg", font=None).read_text(encoding="utf-8")]
    page = render_html(report, charts={"trend": svgs[0], "districts": svgs[1]})
    for text in (md, page, *svgs):
        assert_no_cjk(text, data=_data())
    for text in (md, page):
        assert "raised at (Beijing time)" in text and "acknowledgement (Beijing time)" in text
        assert "made 2026-01-21 08:00 (Beijing time)" in text
        assert "Warnings not acknowledged in time: #2, #4, #9" in text
    assert "![Warnings per district](d.svg)" in md and "| 锦江区 (510104) |" in md


def test_a_warning_the_system_wrote_reads_in_the_report_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """A title the system stored (a Message's Chinese text, here a source-stale warning) is worded in the report."""
    import dataclasses

    from domain.messages import N_, Message
    from integrations.settings import get_settings

    stored = str(Message(N_("数据来源中断")))
    views = [dataclasses.replace(w, title=stored) if w.id == 2 else w for w in warnings() if w.id != 8]
    report = compute_report(day=D, warnings=views, audits=audits(views), now=NOW, regions=REGIONS)
    assert stored in render_markdown(report)
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    md, page = render_markdown(report), render_html(report)
    for text in (md, page):
        assert stored not in text
        assert_no_cjk(text, data=[w.title for w in views if w.id != 2] + list(REGIONS.names.values()))
