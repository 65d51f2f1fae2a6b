"""`fenghuo warnings list|show|ack|resolve|comment|handover` against the configured store and responders directory."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime

from sqlmodel import Session, select
from typer.testing import CliRunner

from flows.cli import app
from flows.console import open_engine
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, WarningRow

runner = CliRunner()
AT = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def _seed() -> int:
    row = WarningRow(fingerprint="fp-1", open_key="fp-1", rule="collective-petition", title="集体访",
                     level="orange", region="510104001001", tier="district", route_region="510104000000",
                     first_at=AT, last_at=AT, summary="60 人集体访：征地补偿，联系人 13812345678",
                     explanation="people=60 ≥ 50 (orange)", records=["xinfang/1"], rulebook_version="abc")
    with session_scope(open_engine()) as s:
        s.add(row)
        s.flush()
        assert row.id is not None
        return row.id


def test_list_json_and_show() -> None:
    wid = _seed()
    listed = runner.invoke(app, ["warnings", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (item,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (item["id"], item["level"], item["rule"]) == (wid, "orange", "collective-petition")
    shown = runner.invoke(app, ["warnings", "show", str(wid)])
    assert shown.exit_code == 0, shown.output
    assert "people=60 ≥ 50" in shown.stdout
    assert "13812345678" not in shown.stdout  # identifiers are masked wherever a warning is shown


def test_a_responder_outside_the_region_is_refused_and_audited() -> None:
    wid = _seed()
    refused = runner.invoke(app, ["warnings", "ack", str(wid), "--as", "qy-duty-office"])  # 青羊区, not 锦江区
    assert refused.exit_code == 1
    assert "Traceback" not in refused.output
    ok = runner.invoke(app, ["warnings", "ack", str(wid), "--as", "jj-duty-office", "--reason", "已派人核实"])
    assert ok.exit_code == 0, ok.output
    with Session(open_engine()) as s:
        row = s.get(WarningRow, wid)
        actions = [(a.actor, a.action) for a in s.exec(select(AuditRow).where(AuditRow.warning_id == wid))]
    assert row is not None and row.status == "acknowledged"
    # The shell's user acted for the responder: the audit names both.
    me = getpass.getuser()
    assert actions[-1] == (f"operator {me} as jj-duty-office", "acknowledged")
    assert any(actor == f"operator {me} as qy-duty-office" and action == "refused" for actor, action in actions)


def test_as_must_name_a_known_responder() -> None:
    wid = _seed()
    nobody = runner.invoke(app, ["warnings", "ack", str(wid), "--as", "zhang-san"])
    assert nobody.exit_code == 1 and "responders.yaml" in nobody.output
    with Session(open_engine()) as s:
        assert s.get(WarningRow, wid).status == "open"  # type: ignore[union-attr]


def test_resolve_then_unknown_warning() -> None:
    wid = _seed()
    done = runner.invoke(app, ["warnings", "resolve", str(wid), "--as", "jj-duty-office", "--reason", "已化解"])
    assert done.exit_code == 0, done.output
    missing = runner.invoke(app, ["warnings", "show", "999"])
    assert missing.exit_code == 1 and "没有编号为 999 的预警" in missing.output


def test_resolve_tells_whoever_was_told_once() -> None:
    from integrations.store.models import OutboxRow

    wid = _seed()
    with session_scope(open_engine()) as s:
        s.add(OutboxRow(idempotency_key=f"{wid}:open:jj-duty-office:file", warning_id=wid, step="open",
                        recipient="jj-duty-office", channel="file", address="jj-duty-office", status="sent"))
        s.add(OutboxRow(idempotency_key=f"{wid}:open:jj-petition-office:file", warning_id=wid, step="open",
                        recipient="jj-petition-office", channel="file", status="silenced"))
    args = ["warnings", "resolve", str(wid), "--as", "jj-duty-office", "--reason", "已化解"]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "预警 " in again.output and "已办结" in again.output
    with Session(open_engine()) as s:
        rows = {r.idempotency_key: r.status for r in s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid))}
        resolved = s.exec(select(AuditRow).where(AuditRow.warning_id == wid, AuditRow.action == "resolved")).all()
    assert rows == {f"{wid}:open:jj-duty-office:file": "sent", f"{wid}:open:jj-petition-office:file": "not_needed",
                    f"{wid}:resolve:jj-duty-office:file": "pending"}
    assert len(resolved) == 1


def test_handover_by_name_routes_to_the_street_and_names_the_operator() -> None:
    from integrations.store.models import OutboxRow

    wid = _seed()  # held by 锦江区 (district)
    args = ["warnings", "handover", str(wid), "--to", "江果桥街道", "--note", "请街道当天入户核实"]
    outsider = runner.invoke(app, [*args, "--as", "qy-duty-office"])
    assert outsider.exit_code == 1 and "不能移交" in outsider.output and "Traceback" not in outsider.output
    nobody = runner.invoke(app, [*args, "--as", "zhang-san"])
    assert nobody.exit_code == 1 and "responders.yaml" in nobody.output
    unknown = runner.invoke(app, ["warnings", "handover", str(wid), "--to", "不存在街道", "--note", "x",
                                  "--as", "jj-duty-office"])
    assert unknown.exit_code == 1 and "没有这个名称的节点" in unknown.output
    ok = runner.invoke(app, [*args, "--as", "jj-duty-office"])
    assert ok.exit_code == 0, ok.output
    me = getpass.getuser()
    with Session(open_engine()) as s:
        row = s.get(WarningRow, wid)
        audit = list(s.exec(select(AuditRow).where(AuditRow.warning_id == wid)))
        sent = list(s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid)))
    assert row is not None and (row.tier, row.route_region) == ("street", "510104001000")
    handed = [a for a in audit if a.action == "handed-over"]
    assert len(handed) == 1 and handed[0].actor == f"operator {me} as jj-duty-office"
    assert handed[0].reason == "请街道当天入户核实"
    assert any(a.action == "refused" and a.actor == f"operator {me} as qy-duty-office" for a in audit)
    assert {o.recipient for o in sent} >= {"jj-s001-office"} and {o.step for o in sent} == {"handover-1"}
    assert all("上级移交本级处置" in o.subject for o in sent)
