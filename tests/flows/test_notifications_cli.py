"""``fenghuo notifications list|retry``: failed ones visible, dead ones retried, JSON for scripts, no Prefect."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import typer
from sqlmodel import Session, select
from typer.testing import CliRunner

from domain.escalation import EscalationPolicy
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from flows import cli_notifications
from integrations.notify import FakeChannel
from integrations.notify.pipeline import Backoff, deliver_pending
from integrations.route import route_warning
from integrations.settings import PACKAGE_ROOT, get_settings
from integrations.store.db import open_store, session_scope
from integrations.store.models import OutboxRow

app = typer.Typer()
app.add_typer(cli_notifications.app, name="notifications")
runner = CliRunner()

REGIONS = RegionDirectory.from_mapping({"510100000000": "成都市", "510104000000": "锦江区"})
DIRECTORY = ResponderDirectory.model_validate({
    "city": "510100000000",
    "leadership": [{"id": "leader", "name": "值班领导", "channels": [{"type": "file", "address": "leader"}]}],
    "nodes": {"510104000000": {"responders": [
        {"id": "jj-duty", "name": "区值班室", "kind": "unit",
         "channels": [{"type": "file", "address": "jj"}, {"type": "webhook", "address": "http://h/13812345678"}]},
    ]}},
})


@pytest.fixture
def store() -> dict[str, int]:
    """Two orange warnings for the district: the first's webhook is dead, the second's file was sent."""
    from integrations.store.models import WarningRow

    engine = open_store(get_settings().resolved_database_url)
    now = datetime.now(UTC) - timedelta(minutes=5)
    ids = []
    for n in (1, 2):
        w = WarningRow(fingerprint=f"fp{n}", open_key=f"fp{n}", rule="r", level="orange", region="510104000000",
                       first_at=now, last_at=now, opened_at=now, title=f"预警{n}")
        with session_scope(engine) as s:
            s.add(w)
            s.flush()
            route_warning(session=s, warning=w, change="opened", policy=EscalationPolicy(), directory=DIRECTORY,
                          regions=REGIONS, now=now)
        ids.append(w.id or 0)
    down = FakeChannel("webhook", fail_first=100, retryable=False)
    deliver_pending(engine, {"file": FakeChannel("file"), "webhook": down}, now=now, limit=3,
                    backoff=Backoff(max_attempts=1))
    with Session(engine) as s:
        rows = {r.idempotency_key: r.id or 0 for r in s.exec(select(OutboxRow))}
    engine.dispose()
    return {"w1": ids[0], "w2": ids[1], "dead": rows[f"{ids[0]}:open:jj-duty:webhook"],
            "sent": rows[f"{ids[0]}:open:jj-duty:file"]}


def _json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_list_shows_everything_and_failed_only_the_dead(store: dict[str, int]) -> None:
    result = runner.invoke(app, ["notifications", "list"])
    assert result.exit_code == 0, result.output
    assert "4 条通知" in result.output and "dead" in result.output
    failed = runner.invoke(app, ["notifications", "list", "--failed", "--json"])
    [row] = _json_lines(failed.output)
    assert (row["id"], row["status"], row["channel"], row["attempts"]) == (store["dead"], "dead", "webhook", 1)
    assert row["idempotency_key"] == f"{store['w1']}:open:jj-duty:webhook"
    assert "13812345678" not in failed.output  # the address is masked
    table = runner.invoke(app, ["notifications", "list", "--failed"])
    assert "1 条发送失败的通知" in table.output and "fenghuo notifications retry" in table.output


def test_list_by_warning(store: dict[str, int]) -> None:
    result = runner.invoke(app, ["notifications", "list", "--warning", str(store["w2"]), "--json"])
    rows = _json_lines(result.output)
    assert {r["warning_id"] for r in rows} == {store["w2"]} and len(rows) == 2
    assert {r["status"] for r in rows} == {"pending", "sent"}  # limit=3 left one of w2's pending
    empty = runner.invoke(app, ["notifications", "list", "--warning", "999"])
    assert empty.exit_code == 0 and "没有符合条件的通知" in empty.output


def test_retry_puts_a_dead_one_back_with_the_same_key(store: dict[str, int]) -> None:
    result = runner.invoke(app, ["notifications", "retry", str(store["dead"])])
    assert result.exit_code == 0, result.output
    assert "1 条通知已重新排队" in result.output
    engine = open_store(get_settings().resolved_database_url)
    with session_scope(engine) as s:
        row = s.get(OutboxRow, store["dead"])
        assert row is not None
        assert (row.status, row.attempts, row.idempotency_key) == (
            "pending", 0, f"{store['w1']}:open:jj-duty:webhook")
    engine.dispose()
    assert "没有需要重发的已放弃通知" in runner.invoke(app, ["notifications", "retry"]).output
    failed = runner.invoke(app, ["notifications", "list", "--failed"])
    assert "没有发送失败的通知" in failed.output


def test_retry_without_ids_takes_every_dead_one(store: dict[str, int]) -> None:
    result = runner.invoke(app, ["notifications", "retry"])
    assert result.exit_code == 0 and "1 条通知" in result.output


@pytest.mark.parametrize(("which", "says"), [("sent", "只能重发已放弃"), ("999", "没有编号为 999 的通知")])
def test_retry_refuses_what_is_not_dead_in_one_line(store: dict[str, int], which: str, says: str) -> None:
    target = str(store[which]) if which in store else which
    result = runner.invoke(app, ["notifications", "retry", target])
    assert result.exit_code == 1
    assert says in result.output and "Traceback" not in result.output


def test_the_command_module_does_not_import_prefect() -> None:
    code = "import sys, flows.cli_notifications; assert 'prefect' not in sys.modules, 'prefect imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE_ROOT)


def test_list_by_status(store: dict[str, int]) -> None:
    def states(*args: str) -> list[tuple[object, object]]:
        result = runner.invoke(app, ["notifications", "list", "--json", *args])
        assert result.exit_code == 0, result.output
        return [(r["id"], r["state"]) for r in _json_lines(result.output)]

    assert states("--status", "dead") == [(store["dead"], "dead")]
    assert states("--status", "failed") == states("--failed")
    assert (store["sent"], "sent") in states("--status", "sent")
    assert [s for _, s in states("--status", "queued")] == ["queued"]
    assert states("--status", "silenced") == [] and states("--status", "held") == []
    bad = runner.invoke(app, ["notifications", "list", "--status", "lost"])
    assert bad.exit_code == 1 and "未知状态" in bad.output
