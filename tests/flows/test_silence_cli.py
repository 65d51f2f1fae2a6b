"""``fenghuo silence add|list|show|expire`` against the configured store and responders directory: a
silenced warning is stored and shown as silenced, its notifications held, released once on expiry;
refusals (jurisdiction, red without the city tier, no end or too long) are audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from domain.beijing import BEIJING
from domain.escalation import EscalationPolicy
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from flows.cli import app
from flows.cli_silence import parse_until
from flows.console import open_engine
from integrations.route import route_warning
from integrations.settings import get_settings
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow

runner = CliRunner()


def _open(level: str = "orange", region: str = "510104001001", fp: str = "fp") -> int:
    settings = get_settings()
    now = datetime.now(UTC)
    w = WarningRow(fingerprint=fp, open_key=fp, rule="collective-petition", title="集体访", level=level,
                   region=region, first_at=now, last_at=now, opened_at=now, summary="60 人集体访")
    with session_scope(open_engine()) as s:
        s.add(w)
        s.flush()
        route_warning(session=s, warning=w, change="opened", policy=EscalationPolicy.load(settings.escalation),
                      directory=ResponderDirectory.load(settings.responders),
                      regions=RegionDirectory.load(settings.regions), now=now)
    assert w.id is not None
    return w.id


def _outbox(wid: int) -> list[OutboxRow]:
    with Session(open_engine()) as s:
        return list(s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid)))


def _add(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["silence", "add", "--rule", "collective-petition", "--reason", "拆迁听证会",
                                 *args])
    return result.exit_code, result.output


def test_add_hold_show_list_expire() -> None:
    code, out = _add("--region", "510104000000", "--level", "orange", "--until", "2h", "--as", "jj-duty-office",
                     "--json")
    assert code == 0, out
    sid = json.loads(out)["id"]
    wid = _open()
    rows = _outbox(wid)
    assert rows and {r.status for r in rows} == {"silenced"}
    shown = runner.invoke(app, ["warnings", "show", str(wid)])
    assert "静默中" in shown.stdout and "拆迁听证会" in shown.stdout
    listed = runner.invoke(app, ["warnings", "list", "--json"])
    assert json.loads(listed.stdout.splitlines()[0])["silenced"] == "拆迁听证会"
    silences = [json.loads(line) for line in runner.invoke(app, ["silence", "list", "--json"]).stdout.splitlines()]
    assert [(s["id"], s["state"], s["region"]) for s in silences] == [(sid, "active", "510104000000")]
    detail = runner.invoke(app, ["silence", "show", str(sid)])
    assert detail.exit_code == 0 and f"#{wid}" in detail.stdout and "暂存通知" in detail.stdout
    # Not covered: red is above the silence's level.
    assert {r.status for r in _outbox(_open(level="red", fp="fp2"))} == {"pending"}
    expired = runner.invoke(app, ["silence", "expire", str(sid), "--as", "jj-duty-office"])
    assert expired.exit_code == 0, expired.output
    assert f"放行通知 {len(rows)} 条" in expired.stdout
    after = _outbox(wid)
    assert {r.status for r in after} == {"pending"}
    assert {r.idempotency_key for r in after} == {r.idempotency_key for r in rows}
    assert runner.invoke(app, ["silence", "list", "--json"]).stdout == ""
    (ended,) = runner.invoke(app, ["silence", "list", "--all", "--json"]).stdout.splitlines()
    assert json.loads(ended)["state"] == "expired"


@pytest.mark.parametrize(("args", "words"), [
    (["--region", "510104000000", "--level", "orange", "--as", "qy-duty-office"], "辖区"),
    (["--region", "510104000000", "--as", "jj-duty-office"], "市级"),
    (["--region", "510104000000", "--level", "red", "--as", "jj-duty-office"], "市级"),
    (["--level", "blue", "--as", "nobody"], "未知"),
])
def test_refusals_are_one_line_and_audited(args: list[str], words: str) -> None:
    code, out = _add("--until", "2h", *args)
    assert code == 1 and words in out and "Traceback" not in out
    with Session(open_engine()) as s:
        assert len(s.exec(select(AuditRow).where(AuditRow.action == "silence-refused")).all()) == 1


def test_every_silence_ends_within_the_limit() -> None:
    code, out = _add("--level", "blue", "--as", "cd-duty-office", "--until", "30d")
    assert code == 1 and "上限" in out
    code, out = _add("--level", "blue", "--as", "cd-duty-office")
    assert code != 0 and "--until" in out  # required: no silence without an end
    code, out = _add("--level", "blue", "--as", "cd-duty-office", "--until", "下周")
    assert code == 1 and "看不懂" in out
    assert runner.invoke(app, ["silence", "show", "99"]).exit_code == 1
    assert runner.invoke(app, ["silence", "expire", "99"]).exit_code == 1


def test_parse_until() -> None:
    now = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    assert parse_until("2h", now) == now + timedelta(hours=2)
    assert parse_until("1d12h30m", now) == now + timedelta(days=1, hours=12, minutes=30)
    assert parse_until("2026-01-05T18:00", now) == datetime(2026, 1, 5, 18, 0, tzinfo=BEIJING)
    assert parse_until("2026-01-05T18:00+00:00", now) == datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


def test_recurring_silences_by_name_or_spec() -> None:
    code, out = _add("--level", "orange", "--region", "510104000000", "--as", "jj-duty-office",
                     "--schedule", "petition-reception", "--until", "30d", "--json")
    assert code == 0, out
    row = json.loads(out)
    assert row["schedule"] == "周一 09:00-11:00" and row["state"] in ("active", "scheduled")
    code, out = _add("--level", "orange", "--region", "510104000000", "--as", "jj-duty-office",
                     "--schedule", "工作日 22:00-06:00", "--until", "1d", "--json")
    assert code == 0 and json.loads(out)["schedule"] == "周一,周二,周三,周四,周五 22:00-06:00"
    code, out = _add("--level", "orange", "--region", "510104000000", "--as", "jj-duty-office",
                     "--schedule", "周八 09:00-10:00", "--until", "1d")
    assert code == 1 and "星期" in out
    code, out = _add("--level", "orange", "--region", "510104000000", "--as", "jj-duty-office",
                     "--schedule", "周一 09:00-11:00", "--until", "100d")
    assert code == 1 and "上限" in out
    shown = runner.invoke(app, ["silence", "show", str(row["id"])])
    assert "周一 09:00-11:00" in shown.stdout


def test_silence_lines_speak_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _add("--region", "510104000000", "--level", "orange", "--until", "2h", "--as", "jj-duty-office",
                     "--json")
    assert code == 0, out
    sid = json.loads(out)["id"]
    chinese = runner.invoke(app, ["silence", "show", str(sid)])
    assert f"静默 #{sid}" in chinese.stdout and "暂存通知 0 条" in chinese.stdout
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    shown = runner.invoke(app, ["silence", "show", str(sid)])
    assert shown.exit_code == 0 and f"Silence #{sid}" in shown.stdout and "held notifications: 0" in shown.stdout
    expired = runner.invoke(app, ["silence", "expire", str(sid), "--as", "jj-duty-office"])
    assert expired.exit_code == 0 and f"Silence #{sid} lifted. 0 notifications released" in expired.stdout
    assert "静默" not in shown.stdout + expired.stdout


def test_silence_refusals_speak_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.cjk import has_cjk
    from tests.language import speak

    bad_schedule = ("--level", "orange", "--region", "510104000000", "--as", "jj-duty-office",
                    "--schedule", "mon 25:00-26:00", "--until", "1d")
    red_by_a_district = ("--region", "510104000000", "--until", "2h", "--as", "jj-duty-office")
    zh = [_add(*args) for args in (bad_schedule, red_by_a_district)]
    assert [code for code, _out in zh] == [1, 1] and "超出范围" in zh[0][1] and "市级" in zh[1][1], zh
    speak(monkeypatch, "en")
    en = [" ".join(_add(*args)[1].split()) for args in (bad_schedule, red_by_a_district)]
    assert "out of range" in en[0] and "city staff" in en[1], en
    assert not any(has_cjk(line) for line in en), en
