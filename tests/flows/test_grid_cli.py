"""`fenghuo grid report` against the configured store: stored, resend, quarantine, refusal (audited)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from flows.cli import app
from flows.console import open_engine
from integrations.settings import get_settings
from integrations.store.models import AuditRow, RecordRow

runner = CliRunner()
REPORT = ["grid", "report", "--kind", "safety_hazard", "--grid", "510104001001002", "--people", "0",
          "--text", "楼道堆放电瓶车充电", "--as", "zhang"]


def test_report_resend_quarantine_and_refusal() -> None:
    added = runner.invoke(app, ["users", "add", "zhang", "--responder", "jj-c001001-grid-lead", "--password-stdin"],
                          input="a long enough secret\n")
    assert added.exit_code == 0, added.output
    first = runner.invoke(app, REPORT)
    assert first.exit_code == 0 and "已上报" in first.output, first.output
    again = runner.invoke(app, [*REPORT, "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["status"] == "duplicate"
    bad = runner.invoke(app, [*REPORT[:2], "--kind", "riot", *REPORT[4:]])
    assert bad.exit_code == 1 and "已隔离" in bad.output and "Traceback" not in bad.output
    outside = runner.invoke(app, [*REPORT[:4], "--grid", "510104002001001", *REPORT[6:]])
    assert outside.exit_code == 1 and "不在您的管辖范围" in outside.output and "Traceback" not in outside.output
    nobody = runner.invoke(app, [*REPORT[:-1], "nobody"])
    assert nobody.exit_code == 1 and "不存在" in nobody.output
    naive = runner.invoke(app, [*REPORT, "--at", "2026-04-01T10:00:00"])
    assert naive.exit_code == 1 and "时区" in naive.output
    with Session(open_engine()) as s:
        rows = list(s.exec(select(RecordRow).where(RecordRow.source == "grid-reports")))
        audit = [(a.actor, a.action, a.reason) for a in s.exec(
            select(AuditRow).where(col(AuditRow.action).like("grid_report%")).order_by(col(AuditRow.id)))]
    assert [(r.kind, r.region) for r in rows] == [("grid_report", "510104001001002")]
    assert audit == [("jj-c001001-grid-lead", "grid_report", "stored"),
                     ("jj-c001001-grid-lead", "grid_report", "duplicate"),
                     ("jj-c001001-grid-lead", "grid_report", "quarantined"),
                     ("jj-c001001-grid-lead", "grid_report_refused", "outside_jurisdiction")]


def test_grid_report_speaks_chinese_by_default_and_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    runner.invoke(app, ["users", "add", "zhang", "--responder", "jj-c001001-grid-lead", "--password-stdin"],
                  input="a long enough secret\n")
    outside = [*REPORT[:4], "--grid", "510104002001001", *REPORT[6:]]
    zh = runner.invoke(app, outside)
    assert zh.output.startswith("错误：网格") and "不在您的管辖范围" in zh.output, zh.output
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    stored = runner.invoke(app, REPORT)
    assert stored.exit_code == 0 and stored.output.startswith("Reported (safety hazard), number "), stored.output
    en = runner.invoke(app, outside)
    assert en.exit_code == 1 and en.output.startswith("error: Grid 510104002001001 is outside your jurisdiction")
    assert not any("\u4e00" <= c <= "\u9fff" for c in stored.output + en.output), stored.output + en.output
    bad = runner.invoke(app, [*REPORT[:2], "--kind", "riot", *REPORT[4:8], "--text", "e-bikes charged on the stairs",
                              *REPORT[10:]])  # the text is data: an English one, so any Chinese left is ours
    said = " ".join(bad.output.split())
    assert bad.exit_code == 1 and "quarantined" in said and not any("\u4e00" <= c <= "\u9fff" for c in said), said
