"""Texts the store writes and officials read later, in the language in force when shown: audit reasons
(Messages and older codes), quarantine reasons, a refused hand-over and the silence-ending reminder."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from typer.testing import CliRunner

from domain.handover import handover_refusal
from domain.messages import N_, Message
from flows.cli import app
from flows.console import open_engine
from integrations.delivery import Reminders, release_silences
from integrations.i18n import explain
from integrations.store.audit import audit_entries
from integrations.store.db import session_scope
from integrations.store.handover import refuse_handover
from integrations.store.intake import quarantine
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.routing import routing_facts
from integrations.store.silences import REMIND_STEP, add_silence
from integrations.store.staleness import auto_resolve, mark_stale
from integrations.wording import audit_reason, worded
from integrations.workspace.present import timeline
from tests.cjk import has_cjk
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, open_routed, small_directory, warning
from tests.language import speak

runner = CliRunner()

STORED = [  # as the store writes them (Messages are their Chinese text), and the older codes
    ("raised to red", "等级上调为红色"),
    ("silence 12", "静默 #12"),
    ("not resolved by 2026-12-01T02:00:00+00:00", "2026-12-01 10:00（北京时间）前未办结"),
    (Message(N_("可办结")), "可办结"),
    (Message(N_("由预警 #{id}（{rule}）统一通知"), id=3, rule="collective-petition"),
     "由预警 #3（collective-petition）统一通知"),
    (Message(N_("{kind}任务 #{id}：{outcome}。{note}"), kind=Message(N_("核实")), id=4, outcome=Message(N_("属实")),
             note="ok"), "核实任务 #4：属实。ok"),
    (Message(N_("{kind} → {region}"), kind=Message(N_("走访")), region="510104001001001"), "走访 → 510104001001001"),
    (Message(N_("问卷调查（{name}）"), name="survey.csv"), "问卷调查（survey.csv）"),
    (Message(N_("任务 #{id} {effect} 说明：{note}"), id=5, effect=Message(N_("属实")), note="ok"),
     "任务 #5 属实 说明：ok"),
    (Message(N_("规则库版本变更 {old} → {new}：{names}；按新规则重放 {n} 条历史记录重建窗口，历史触发不再通知"),
             old=Message(N_("（无）")), new="abc", names=Message(N_("（内容未变）")), n=3),
     "规则库版本变更 （无） → abc：（内容未变）；按新规则重放 3 条历史记录重建窗口，历史触发不再通知"),
    ("replayed 2026-12-01T02:00:00+00:00: "
     + Message(N_("缺少字段 {field}（数据源改了字段名？请更新 {source} 的映射）"), field="'x'", source="s"),
     "2026-12-01 10:00（北京时间）重放，仍无效：缺少字段 'x'（数据源改了字段名？请更新 s 的映射）"),
]


@pytest.mark.parametrize(("stored", "chinese"), STORED)
def test_a_stored_text_reads_in_chinese_by_default_and_in_english_on_request(
    monkeypatch: pytest.MonkeyPatch, stored: str, chinese: str
) -> None:
    assert worded(str(stored)) == chinese
    speak(monkeypatch, "en")
    english = worded(str(stored))
    assert english and not has_cjk(english), english


def test_text_no_template_explains_is_shown_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    speak(monkeypatch, "en")
    assert worded("已派人核实，群众情绪稳定") == "已派人核实，群众情绪稳定"  # a note someone typed
    assert worded("") == ""
    assert audit_reason("routed", "escalate-1") == "escalation 1"


def test_the_audit_reasons_the_store_writes_read_in_the_language_in_force(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    wid = open_routed(engine)
    with session_scope(engine) as s:
        row = s.get(WarningRow, wid)
        assert row is not None
        mark_stale(s, row, resolve_after=timedelta(hours=6), event_now=MONDAY_10_BJ, now=MONDAY_10_BJ)
        auto_resolve(s, row, resolve_after=timedelta(hours=6), now=MONDAY_10_BJ + timedelta(hours=6))
    with Session(engine) as s:
        audit = audit_entries(session=s, warning_id=wid)
    notes = [e.note for e in timeline(audit, [], small_directory(), REGIONS) if e.note]
    assert "可办结" in notes and "规则 collective-petition 设定 auto_resolve：6 小时无新情况，自动办结" in notes, notes
    speak(monkeypatch, "en")
    english = [e.note for e in timeline(audit, [], small_directory(), REGIONS) if e.note]
    assert "may be resolved" in english and not has_cjk(" ".join(english)), english


def test_a_refused_hand_over_says_why_in_the_language_in_force(
    sqlite_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(sqlite_engine) as s:
        row = warning(status="resolved")
        s.add(row)
        s.flush()
    facts_person = small_directory().responder("s1")
    with Session(sqlite_engine) as s:
        row = s.exec(select(WarningRow)).one()
        why = handover_refusal(facts_person, routing_facts(s, row), "510104001001", small_directory())
        assert why is not None
        error = refuse_handover(s, row, responder="s1", target="510104001001", note="交社区", why=why,
                                now=MONDAY_10_BJ)
    assert explain(error) == f"s1 无权把预警 {row.id} 移交给 510104001001：预警已办结"
    speak(monkeypatch, "en")
    said = explain(error)
    assert said == f"s1 may not hand warning {row.id} over to 510104001001: Warning already resolved", said


def test_the_silence_ending_reminder_is_written_in_the_deployment_language(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    reminders = Reminders(small_directory(), long=timedelta(hours=24), before=timedelta(hours=2))
    for lang, hours in (("zh", 48), ("en", 49)):
        speak(monkeypatch, lang)
        with session_scope(engine) as s:
            add_silence(s, directory=small_directory(), author="s1", rule="collective-petition",
                        region="510104001000", level="yellow", category=None,
                        until=MONDAY_10_BJ + timedelta(hours=hours), reason="hearing", now=MONDAY_10_BJ,
                        max_length=timedelta(hours=72))
        assert release_silences(engine, MONDAY_10_BJ + timedelta(hours=hours - 1), reminders)["reminded"] == 1
    with Session(engine) as s:
        zh, en = s.exec(select(OutboxRow).where(OutboxRow.step == REMIND_STEP).order_by(OutboxRow.id)).all()
    assert zh.subject.startswith("【静默即将结束】静默 #") and "黄色（较重）" in zh.body and "北京时间" in zh.body
    assert en.subject.startswith("[Silence ending] silence #"), en.subject
    assert not has_cjk(en.subject + en.body), en.subject + en.body


def test_quarantine_reasons_keep_their_code_and_read_in_the_language_in_force(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = Message(N_("wrong_kind: 来源 {source} 只提供 {kind} 记录，此条为 {got}；请用对应来源导入"),
                     source="xinfang", kind="petition", got="incident")
    with session_scope(open_engine()) as s:
        quarantine(session=s, source="xinfang", page="import", raw="{}", reason=reason, source_id="x1")
    zh = runner.invoke(app, ["quarantine", "list"])
    assert zh.exit_code == 0 and "wrong_kind: 来源 xinfang" in zh.stdout, zh.stdout
    speak(monkeypatch, "en")
    en = runner.invoke(app, ["quarantine", "list", "--json"])
    assert en.exit_code == 0 and "wrong_kind: source xinfang provides only petition" in en.stdout, en.stdout
    assert not has_cjk(en.stdout), en.stdout


def test_a_warning_the_system_wrote_reads_in_the_language_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.console import console

    monkeypatch.setattr(console, "_width", 200)
    row = warning(title=Message(N_("记录无法研判：规则 {rule}"), rule="petition-burst"),
                  summary=Message(N_("{record}: 规则 {rule}: {reason}"), record="petition/xf/1", rule="petition-burst",
                                  reason=Message(N_("研判出错（{error}）：该记录未参与研判，已隔离；请把此消息转给规则维护人员"),
                                                 error="KeyError: 'x'")))
    with session_scope(open_engine()) as s:
        s.add(row)
        s.flush()
        wid = row.id
        mark_stale(s, row, resolve_after=timedelta(hours=6), event_now=MONDAY_10_BJ, now=MONDAY_10_BJ)
    zh = runner.invoke(app, ["warnings", "show", str(wid)]).stdout
    assert "记录无法研判：规则 petition-burst" in zh and "久无新情况，可办结" in zh and "可办结" in zh, zh
    speak(monkeypatch, "en")
    en = runner.invoke(app, ["warnings", "show", str(wid)]).stdout
    lines = en.splitlines()
    told = [lines[0]] + [line for line in lines if "petition/xf/1" in line or "system:" in line]
    assert len(told) >= 3 and "Record could not be evaluated: rule petition-burst" in lines[0], en
    assert not has_cjk("\n".join(told)), told
