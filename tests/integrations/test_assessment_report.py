"""The assessment report: HTML and Markdown, the risk matrix SVG, references to evidence and factors."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree

from domain.assessment import DecisionOutcome, Dimension, RiskFactor
from domain.assessment_scoring import score
from integrations.assessment_report import render_html, render_markdown, write_report
from integrations.assessment_svg import risk_matrix_svg
from integrations.store.assessments import add_follow_up_note, decide, load_bundle, save_score
from integrations.store.db import session_scope
from tests.cjk import assert_no_cjk
from tests.ssra_helpers import NOW, default_scheme, seed_complete

SVG = "{http://www.w3.org/2000/svg}"


def _scored(engine: sa.Engine) -> int:
    aid = seed_complete(engine)
    with session_scope(engine) as s:
        save_score(session=s, assessment_id=aid, now=NOW,
                   score=score(load_bundle(session=s, assessment_id=aid).to_input(), default_scheme()))
    return aid


def test_svg_plots_every_factor_before_and_after() -> None:
    fs = [RiskFactor(ref="F1", title="a", dimension=Dimension.safety, probability=4, impact=5,
                     residual_probability=2, residual_impact=3),
          RiskFactor(ref="F2", title="b", dimension=Dimension.safety, probability=4, impact=5),
          RiskFactor(ref="F3", title="c", dimension=Dimension.safety, probability=2, impact=3)]
    root = etree.fromstring(risk_matrix_svg(fs).encode())
    assert len(root.findall(f"{SVG}rect")) == 25
    marks = [(c.get("data-ref"), c.get("class")) for c in root.iter(f"{SVG}circle") if c.get("data-ref")]
    assert sorted(marks) == [("F1", "factor after"), ("F1", "factor before"), ("F2", "factor before"),
                             ("F3", "factor before")]
    assert len(root.findall(f"{SVG}line")) == 1  # only F1 moved
    # F1 after and F3 share cell (2, 3): their marks do not overlap.
    at = {(c.get("data-ref"), c.get("class")): (float(c.get("cx")), float(c.get("cy")))
          for c in root.iter(f"{SVG}circle") if c.get("data-ref")}
    assert at[("F1", "factor after")] != at[("F3", "factor before")]


def test_html_report_is_complete_and_traceable(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    aid = _scored(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        bundle = load_bundle(session=s, assessment_id=aid)
    page = render_html(bundle, scheme=default_scheme(), now=NOW)
    doc = etree.fromstring(page.encode(), etree.HTMLParser())
    svg = etree.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0).encode())  # type: ignore[union-attr]
    assert len(svg.findall(f"{SVG}rect")) == 25
    ids = set(doc.xpath("//tr/@id"))
    assert {"E1", "E2", "E3", "F1", "F2"} <= ids
    hrefs = set(doc.xpath("//a/@href"))
    assert {"#E2", "#E3", "#F1"} <= hrefs and all(h[1:] in ids for h in hrefs if h.startswith("#"))
    for words in ("防范化解前中风险", "防范化解后低风险", "落实风险防范化解措施后实施",
                  "（15 天）", "n=400", "专家组：3 人；方案要求 3 人。", "合法性", "可控性"):
        assert words in page, words
    html_path, md_path = write_report(bundle, tmp_path, scheme=default_scheme(), now=NOW)
    assert html_path.read_text(encoding="utf-8") == page and md_path.exists()


def test_markdown_report_links_references(sqlite_engine: sa.Engine) -> None:
    aid = _scored(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        md = render_markdown(load_bundle(session=s, assessment_id=aid), now=NOW)
    assert md.startswith("# 社会稳定风险评估报告：拆迁安置")
    assert '<a id="E1"></a>E1' in md and "[E2](#E2)" in md and "[F1](#F1)" in md
    assert "<svg" in md and "</svg>" in md
    assert "防范化解前综合得分 14.4" in md and "Combined" not in md


def test_unscored_report_says_what_is_missing(sqlite_engine: sa.Engine) -> None:
    aid = seed_complete(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        bundle = load_bundle(session=s, assessment_id=aid)
        bundle.experts = bundle.experts[:1]
    md = render_markdown(bundle, scheme=default_scheme(), now=NOW)
    assert "尚未评分。评分前须补齐：" in md and "专家组只有 1 人" in md


def test_report_speaks_english_on_request(sqlite_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.settings import get_settings

    aid = _scored(sqlite_engine)
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    with session_scope(sqlite_engine) as s:
        md = render_markdown(load_bundle(session=s, assessment_id=aid), scheme=default_scheme(), now=NOW)
    for words in ("# Social stability risk assessment report: ", "## 2. Evidence",
                  "Combined score before mitigation 14.4",
                  "(15 days)", "Expert panel: 3 members; the scheme requires 3.", "Generated 2026-03-01"):
        assert words in md, words
    assert "防范化解" not in md and "评估依据" not in md and "专家组" not in md


DATA = ("拆迁安置", "问卷、听证、公示、专家论证", "公示", "问卷", "听证会", "专家0", "专家1", "专家2", "法律",
        "补偿争议", "过渡房源", "一户一策")
"""What the seeded assessment records: shown as written in any language."""
LATE = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)
"""20:30 UTC is 04:30 the next day in Beijing: a report in UTC would show the wrong day."""


def _decided(engine: sa.Engine) -> int:
    aid = _scored(engine)
    with session_scope(engine) as s:
        decide(session=s, assessment_id=aid, outcome=DecisionOutcome.implement_after_mitigation,
               decided_by="county standing meeting", now=LATE, note="with the measures")
        add_follow_up_note(session=s, assessment_id=aid, note="visit done", now=LATE, actor="zhang")
    return aid


def test_report_times_are_beijing_time_with_the_zone_marked(sqlite_engine: sa.Engine) -> None:
    aid = _decided(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        md = render_markdown(load_bundle(session=s, assessment_id=aid), scheme=default_scheme(), now=LATE)
    assert "_烽火于 2026-03-02 04:30（北京时间）生成。_" in md
    assert "2026-03-02 由county standing meeting集体决策" in md and "自 2026-03-02 起实施" in md
    assert "| 时间（北京时间） | 人员 | 事项 | 说明 |" in md
    assert "| 2026-03-02 04:30 | zhang | 跟踪记录 | visit done |" in md
    assert "UTC" not in md and "2026-03-01 20:30" not in md


def test_the_english_report_has_no_chinese_but_its_data(sqlite_engine: sa.Engine,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.settings import get_settings

    aid = _decided(sqlite_engine)
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    with session_scope(sqlite_engine) as s:
        bundle = load_bundle(session=s, assessment_id=aid)
        md = render_markdown(bundle, scheme=default_scheme(), now=LATE)
        page = render_html(bundle, scheme=default_scheme(), now=LATE)
    for text in (md, page):
        assert_no_cjk(text, data=DATA)
        assert "Generated 2026-03-02 04:30 (Beijing time)" in text
        assert "when (Beijing time)" in text and "2026-03-02 04:30" in text
    assert '<html lang="en">' in page and "专家0 (法律, —); 专家1" in md
    assert "拆迁安置" in md  # the data as recorded


def test_the_follow_up_names_linked_record_kinds_by_their_titles(sqlite_engine: sa.Engine,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Linked records are counted by kind as kinds.yaml titles them (信访, petitions), not by the identifier."""
    from integrations.store.assessment_models import AssessmentLinkRow
    from tests.language import speak

    aid = _decided(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        bundle = load_bundle(session=s, assessment_id=aid)
        bundle.links = [AssessmentLinkRow(assessment_id=aid, kind=kind, at=LATE) for kind in ("petition", "petition",
                                                                                             "dispute", "warning")]
        chinese = render_markdown(bundle, scheme=default_scheme(), now=LATE)
        speak(monkeypatch, "en")
        english = render_markdown(bundle, scheme=default_scheme(), now=LATE)
    assert "跟踪关联：矛盾纠纷 1，信访 2，预警 1 起。" in chinese, chinese
    assert "petitions 2" in english and "petition 2" not in english
