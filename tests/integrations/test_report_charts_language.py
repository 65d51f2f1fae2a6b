"""The report's charts speak the language in force, whatever fonts the machine has: without a CJK font
Chinese stays SVG text for the browser, never an English stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.report import charts
from integrations.settings import get_settings
from tests.integrations.test_report_render import _report


def test_chinese_charts_without_a_cjk_font_keep_chinese_text(tmp_path: Path) -> None:
    svg = charts.trend_chart(_report(), tmp_path / "t.svg", font=None).read_text(encoding="utf-8")
    assert "近30日新增预警" in svg and "Warnings opened" not in svg
    districts = charts.district_chart(_report(), tmp_path / "d.svg", font=None).read_text(encoding="utf-8")
    assert "各区县预警处置" in districts and "新增" in districts


def test_english_charts_come_from_the_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    svg = charts.trend_chart(_report(), tmp_path / "t.svg", font=None).read_text(encoding="utf-8")
    assert "Warnings opened per day by level" in svg and "近30日" not in svg
    districts = charts.district_chart(_report(), tmp_path / "d.svg", font=None).read_text(encoding="utf-8")
    assert "Warnings per district" in districts and "escalated" in districts


def test_the_report_headings_in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.report.html import render_html
    from integrations.report.markdown import render_markdown

    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    page, md = render_html(_report()), render_markdown(_report())
    for text in ("Fenghuo daily social-stability warning report", "1. Open red and orange warnings",
                 "4. Deadlines", "acknowledged on time", "(Beijing time)"):
        assert text in page and text in md, text
    assert '<html lang="en">' in page
    assert "red (I, extremely severe)" in page and "Opened in the last 30 days" in md
    for chinese in ("一、在办", "四、时限执行情况", "签收及时率", "本报告由烽火平台自动生成", "特别严重", "近30日新增"):
        assert chinese not in page + md, chinese


def test_the_risk_matrix_speaks_the_language_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    from domain.assessment import Dimension, RiskFactor
    from integrations.assessment_svg import risk_matrix_svg

    fs = [RiskFactor(ref="F1", title="a", dimension=Dimension.safety, probability=4, impact=5,
                     residual_probability=2, residual_impact=3)]
    zh = risk_matrix_svg(fs)
    assert "<title>风险矩阵</title>" in zh and "化解后" in zh and "mitigation" not in zh
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    en = risk_matrix_svg(fs)
    assert "<title>Risk matrix</title>" in en and "F1 after mitigation" in en and "化解" not in en
