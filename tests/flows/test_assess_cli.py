"""``fenghuo assess …`` end to end through typer's CliRunner, on a fresh SQLite store per test."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.assess_cli import app
from integrations.settings import get_settings
from integrations.store.db import open_store, session_scope
from integrations.store.models import RecordRow

runner = CliRunner()


@pytest.fixture(autouse=True)
def store() -> None:
    """The configured store, migrated."""
    engine = open_store(get_settings().resolved_database_url)
    engine.dispose()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _err(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("错误：")
    # One line; rich wraps it at the test terminal's 80 columns, so unwrap before comparing.
    return " ".join(result.output.split())


def _prepared(tmp_path: Path) -> None:
    _ok("new", "水井坊片区拆迁安置项目", "--region", "510104000000", "--kind", "demolition",
        "--body", "锦江区人民政府", "--people", "1260", "--investment", "380000000")
    _ok("add-evidence", "1", "public_notice", "征收补偿方案公示", "--notice-from", "2026-01-05",
        "--notice-to", "2026-01-19")
    survey = tmp_path / "survey.csv"
    survey.write_text("answer,count\nstrongly_support,96\nsupport,188\nneutral,61\noppose,48\n"
                      "strongly_oppose,19\n", encoding="utf-8")
    assert "E2 已加入评估 #1：问卷调查" in _ok("add-evidence", "1", "survey", "--csv", str(survey))
    assert "E3 已加入评估 #1" in _ok("add-evidence", "1", "survey", "街道问卷", "--counts", "10,20,5,3,1")
    _ok("add-evidence", "1", "hearing", "听证会", "--participants", "86", "--on", "2026-01-20")
    for name in ("王立新", "陈晓梅"):
        _ok("add-evidence", "1", "expert", name, "--field", "法律")
    _ok("add-factor", "1", "少数住户拒绝搬迁", "--dimension", "controllability", "-p", "3", "-i", "4",
        "--rp", "2", "--ri", "2", "--mitigation", "一户一策", "--evidence", "E2", "--people", "120")


def test_full_workflow(tmp_path: Path) -> None:
    _prepared(tmp_path)
    out = _err("score", "1")
    assert "无法评分，缺少依据材料：专家组只有 2 人；此决策至少需要 3 人" in out
    _ok("add-evidence", "1", "expert", "刘建国")
    factors = tmp_path / "factors.csv"
    factors.write_text("title,dimension,probability,impact,residual_probability,residual_impact,evidence\n"
                       "补偿标准争议,合理性,3,3,2,2,E2 E4\n", encoding="utf-8")
    assert "已导入 1 项风险因素：F2" in _ok("add-factor", "1", "--csv", str(factors))
    out = _ok("score", "1")
    assert "评估 #1：中风险（14.4）→ 化解后 低风险（4.8）" in out and "建议：落实风险防范化解措施后实施" in out
    out = _ok("report", "1", "--out", str(tmp_path / "r"))
    html = (tmp_path / "r" / "assessment-1.html").read_text(encoding="utf-8")
    assert "<svg" in html and 'href="#E2"' in html and (tmp_path / "r" / "assessment-1.md").exists()
    shown_text = _ok("show", "1")
    assert "已评分" in shown_text and "拆迁安置" in shown_text and "scored" not in shown_text
    _ok("decide", "1", "implement_after_mitigation", "--by", "锦江区人民政府常务会议",
        "--implement-from", "2026-02-01")
    engine = open_store(get_settings().resolved_database_url)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        for n in range(5):
            s.add(RecordRow(source="xf", source_id=str(n), kind="petition", at=start + timedelta(hours=n),
                            region="510104001001001", content_hash=str(n), attributes={"subject": "拆迁安置"}))
    engine.dispose()
    out = _ok("follow-up", "1", "--now", "2026-03-02T12:00:00+08:00", "--no-route", "--note", "入户回访")
    assert "本次关联 5 条记录" in out and "评估已重新启动" in out and "待重新评估" in out
    listed = [json.loads(line) for line in _ok("list", "--json").splitlines()]
    assert [(a["id"], a["status"], a["level_before"], a["level_after"]) for a in listed] == \
        [(1, "reassessment", "medium", "low")]
    shown = json.loads(_ok("show", "1", "--json"))
    assert shown["links"] == 5 and [e["ref"] for e in shown["evidence"]] == ["E1", "E2", "E3", "E4"]


@pytest.mark.parametrize(("args", "message"), [
    (("show", "42"), "没有评估 42"),
    (("new", "x", "--region", "5101"), "地区代码须为 12 位数字"),
    (("new", "x", "--region", "510104000000", "--kind", "war"), "--kind 须为 land_acquisition, demolition"),
    (("decide", "1", "implement", "--by", "会议"), "只有已评分的评估才能决策"),
    (("add-factor", "1", "x", "--dimension", "safety", "-p", "9", "-i", "1"), "probability"),
    (("add-evidence", "1", "public_notice", "公示", "--notice-from", "2026-01-10", "--notice-to", "2026-01-01"),
     "公示的结束日期（2026-01-01）早于开始日期"),
    (("add-evidence", "1", "survey", "--csv", "/nonexistent.csv"), "无法按 UTF-8 CSV 读取"),
    (("follow-up", "1", "--now", "2026-03-02T12:00:00"), "--now 须带时区"),
    (("add-evidence", "1", "survey", "问卷", "--counts", "1,2,x,4,5"), "--counts 须为五个数"),
])
def test_errors_are_one_readable_line(args: tuple[str, ...], message: str) -> None:
    _ok("new", "政策", "--region", "510104000000", "--kind", "policy_change")
    assert message in _err(*args)


def test_list_empty_and_follow_up_before_decision() -> None:
    assert "没有评估" in _ok("list")
    _ok("new", "政策", "--region", "510104000000")
    assert "记录实施决策后才开始跟踪" in _ok("follow-up", "1", "--no-route")


def test_the_assessment_commands_speak_english_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    assert "No assessments." in _ok("list")
    assert "assessment 1 opened: 政策 (policy change, 510104000000)" in _ok(
        "new", "政策", "--region", "510104000000", "--kind", "policy_change")
    assert "E1 added to assessment 1: public notice" in _ok(
        "add-evidence", "1", "public_notice", "公示", "--notice-from", "2026-01-05", "--notice-to", "2026-01-19")
    shown = _ok("show", "1")
    assert "(draft)" in shown and "Evidence" in shown and "材料收集中" not in shown and "依据材料" not in shown
    assert "follow-up starts once a decision" in _ok("follow-up", "1", "--no-route")
    refused = runner.invoke(app, ["follow-up", "1", "--now", "2026-03-02T12:00:00"])
    assert refused.exit_code == 1 and "--now needs a timezone" in refused.output


def test_assessment_refusals_speak_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.settings import get_settings

    _ok("new", "政策", "--region", "510104000000", "--kind", "policy_change")
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    for args, words in ((("show", "42"), "error: no assessment 42"),
                        (("decide", "1", "implement", "--by", "会议"), "only a scored assessment can be decided")):
        result = runner.invoke(app, list(args))
        assert result.exit_code == 1 and words in result.output.replace("\n", " "), result.output
    said = runner.invoke(app, ["decide", "1", "implement", "--by", "会议"]).output.replace("\n", " ")
    assert "assessment 1 is" in said and "only a scored assessment can be decided" in said and "评估" not in said


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
"""Chinese characters and full-width punctuation: none may be left in an English line."""
INPUT_ERRORS = (
    ("show", "42"),
    ("new", "x", "--region", "5101"),
    ("new", "x", "--region", "510104000000", "--kind", "war"),
    ("new", "x", "--region", "510104000000", "--people", "-5"),
    ("add-factor", "1", "x", "--dimension", "safety", "-p", "9", "-i", "1"),
    ("add-factor", "1", "x", "--dimension", "weather", "-p", "1", "-i", "1"),
    ("add-evidence", "1", "rumour", "x"),
    ("follow-up", "1", "--now", "2026-03-02T12:00:00"),
    ("add-evidence", "1", "survey", "x", "--counts", "1,2,x,4,5"),
)


@pytest.mark.parametrize("args", INPUT_ERRORS)
def test_input_errors_are_english_on_request_without_a_chinese_word(args: tuple[str, ...],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Enumerations, pydantic's refusals and the domain's: all through the catalogue, none in a library's words.
    _ok("new", "x", "--region", "510104000000", "--kind", "policy_change")
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    result = runner.invoke(app, list(args))
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and said.startswith("error: "), said
    assert not CJK.search(said), said
    assert "is not a valid" not in said and "Input should" not in said and "pydantic" not in said, said


@pytest.mark.parametrize("args", INPUT_ERRORS)
def test_input_errors_are_chinese_by_default(args: tuple[str, ...]) -> None:
    _ok("new", "x", "--region", "510104000000", "--kind", "policy_change")
    said = _err(*args)
    assert "is not a valid" not in said and "Input should" not in said and "pydantic" not in said, said
    assert CJK.search(said.removeprefix("错误：")), said


@pytest.mark.parametrize(("args", "option", "field"), [
    (("new", "x", "--region", "510104000000", "--people", "-5"), "--people", "affected_people"),
    (("add-factor", "1", "x", "--dimension", "safety", "-p", "1", "-i", "1", "--rp", "9"),
     "--residual-probability", "residual_probability"),
])
def test_a_refused_value_names_the_option_typed_not_the_models_field(
    args: tuple[str, ...], option: str, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ok("new", "x", "--region", "510104000000", "--kind", "policy_change")
    said = _err(*args)
    assert said.startswith(f"错误：{option} ") and field not in said, said
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    english = " ".join(runner.invoke(app, list(args)).output.split())
    assert english.startswith(f"error: {option} ") and field not in english and not CJK.search(english), english


def test_names_rename_a_location_or_its_first_part() -> None:
    from pydantic import BaseModel, Field, ValidationError

    from domain.validation_messages import validation_messages

    class Inner(BaseModel):
        n: int = Field(ge=0)

    class Outer(BaseModel):
        deadline: int = Field(gt=0)
        inner: Inner

    with pytest.raises(ValidationError) as caught:
        Outer(deadline=0, inner=Inner.model_construct(n=-1).model_dump())
    plain = [str(m) for m in validation_messages(caught.value)]
    assert plain == ["deadline 须大于 0，得到 0", "inner.n 须不小于 0，得到 -1"]
    named = [str(m) for m in validation_messages(caught.value, names={"deadline": "--deadline", "inner": "--inner"})]
    assert named == ["--deadline 须大于 0，得到 0", "--inner.n 须不小于 0，得到 -1"]
