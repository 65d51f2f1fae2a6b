"""``fenghuo deliver --once``: the SLA watch, the end of silences and one delivery round, without Prefect;
a silence's held notification goes out once when the silence is over, with its own key."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select
from typer.testing import CliRunner

from domain.escalation import EscalationPolicy
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from flows.cli import app
from flows.console import open_engine
from integrations.route import route_warning
from integrations.settings import get_settings
from integrations.store.db import session_scope
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.silences import add_silence

runner = CliRunner()


def _open(at: datetime, fp: str = "fp", level: str = "orange") -> int:
    settings = get_settings()
    w = WarningRow(fingerprint=fp, open_key=fp, rule="collective-petition", title="集体访", level=level,
                   region="510104001001", first_at=at, last_at=at, opened_at=at, summary="60 人集体访")
    with session_scope(open_engine()) as s:
        s.add(w)
        s.flush()
        route_warning(session=s, warning=w, change="opened", policy=EscalationPolicy.load(settings.escalation),
                      directory=ResponderDirectory.load(settings.responders),
                      regions=RegionDirectory.load(settings.regions), now=at)
    assert w.id is not None
    return w.id


def _deliver() -> dict[str, int]:
    result = runner.invoke(app, ["deliver", "--once", "--json"])
    assert result.exit_code == 0, result.output
    counts: dict[str, int] = json.loads(result.stdout)
    return counts


def _statuses(wid: int) -> set[str]:
    with Session(open_engine()) as s:
        return {r.status for r in s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid))}


def test_deliver_once_sends_due_notifications_and_files_them() -> None:
    wid = _open(datetime.now(UTC))
    counts = _deliver()
    assert counts["sent"] >= 1 and counts["failed"] == counts["dead"] == 0
    assert _statuses(wid) == {"sent"}
    assert list((get_settings().resolved_outbox_dir).rglob("*"))  # the file channel wrote them
    assert _deliver()["sent"] == 0  # nothing twice
    text = runner.invoke(app, ["deliver", "--once"])
    assert text.exit_code == 0 and "发送成功 0 条" in text.stdout


def test_a_held_notification_goes_out_once_when_its_silence_is_over() -> None:
    now = datetime.now(UTC)
    start = now - timedelta(minutes=10)  # recent: no acknowledgement deadline has passed
    with session_scope(open_engine()) as s:
        add_silence(s, directory=ResponderDirectory.load(get_settings().responders), author="jj-duty-office",
                    rule="collective-petition", region="510104000000", level="orange", category=None,
                    until=now + timedelta(seconds=2), reason="听证会", now=start, max_length=timedelta(hours=3))
    wid = _open(start + timedelta(minutes=1))
    resolved = _open(start + timedelta(minutes=2), fp="fp2")
    with session_scope(open_engine()) as s:
        w = s.get(WarningRow, resolved)
        assert w is not None
        w.status, w.open_key = "resolved", None
    assert _statuses(wid) == {"silenced"}
    held = runner.invoke(app, ["notifications", "list", "--status", "silenced", "--json"])
    assert {json.loads(line)["silence_reason"] for line in held.stdout.splitlines()} == {"听证会"}
    time.sleep(max(0.0, (now + timedelta(seconds=2) - datetime.now(UTC)).total_seconds()))  # --until passes
    counts = _deliver()
    assert counts["released"] >= 1 and counts["not_needed"] >= 1 and counts["sent"] == counts["released"]
    assert _statuses(wid) == {"sent"} and _statuses(resolved) == {"not_needed"}
    assert _deliver()["sent"] == 0


def test_deliver_needs_once_and_says_so() -> None:
    result = runner.invoke(app, ["deliver"])
    assert result.exit_code == 1 and "--once" in result.output


def test_a_broken_directory_is_one_line(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "responders.yaml"
    bad.write_text("city: nope\n", encoding="utf-8")
    monkeypatch.setenv("FENGHUO_RESPONDERS", str(bad))
    get_settings.cache_clear()
    result = runner.invoke(app, ["deliver", "--once"])
    assert result.exit_code == 1 and "FENGHUO_RESPONDERS" in result.output and "Traceback" not in result.output


def test_a_never_routed_street_warning_is_held_under_an_open_cluster() -> None:
    """A street warning with no pinned policy (written before routing, or by an older version) is routed
    for the first time by the SLA watch of ``deliver --once``, with the context's policy: that policy carries
    the chained cluster rules' default inhibitions (``integrations.policy.load_policy``), so the open street
    cluster above it holds its notifications instead of letting them out one by one."""
    from integrations.policy import load_policy

    settings = get_settings()
    now = datetime.now(UTC)
    start = now - timedelta(hours=2)
    cluster = WarningRow(fingerprint="c", open_key="c", rule="street-cluster", title="街道预警聚集", level="orange",
                         region="510104001000", first_at=start, last_at=start, opened_at=start, summary="3 起")
    street = WarningRow(fingerprint="s", open_key="s", rule="collective-petition", title="集体访", level="orange",
                        region="510104001001", first_at=start, last_at=start, opened_at=start, summary="60 人集体访",
                        tier="street", route_region="510104001000", ack_due_at=now - timedelta(minutes=30))
    with session_scope(open_engine()) as s:
        s.add_all([cluster, street])
        s.flush()
        route_warning(session=s, warning=cluster, change="opened", policy=load_policy(settings),
                      directory=ResponderDirectory.load(settings.responders),
                      regions=RegionDirectory.load(settings.regions), now=now)
    assert street.id is not None and not street.policy, "never routed: nothing pinned"
    counts = _deliver()
    assert counts["escalated"] >= 1
    with Session(open_engine()) as s:
        rows = list(s.exec(select(OutboxRow).where(OutboxRow.warning_id == street.id)))
    assert rows and {r.status for r in rows} == {"held"}
    assert {r.payload["inhibitor"] for r in rows} == {cluster.id}
    assert _statuses(cluster.id or 0) == {"sent"}
