"""From the evaluator's change to a file on disk: apply_changes → route → outbox → delivery pipeline → channels."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from pydantic import SecretStr
from sqlmodel import Session, select

from domain.escalation import EscalationPolicy
from domain.warnings import Firing, Level, fold
from integrations.notify import FileChannel, WebhookChannel
from integrations.notify.pipeline import deliver_pending
from integrations.notify.webhook import verify
from integrations.route import Routing, apply_and_route
from integrations.store.db import session_scope
from integrations.store.models import OutboxRow
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, small_directory

SECRET = SecretStr("k")


def _firing(level: Level, minutes: int) -> Firing:
    return Firing(rule="collective-petition", level=level, at=MONDAY_10_BJ + timedelta(minutes=minutes),
                  group={"street": "510104001000"}, region="510104001000", records=("r1",),
                  explanation="people=60 ≥ 50；联系电话 13812345678", summary="60 人集体访", title="集体访")


def test_opened_then_raised_reaches_files_and_a_signed_webhook(engine: sa.Engine, tmp_path: Path) -> None:
    state, change = fold(None, _firing(Level.yellow, 0))
    raised, change2 = fold(state, _firing(Level.orange, 5))
    routing = Routing(policy=EscalationPolicy(), directory=small_directory(), regions=REGIONS)
    with session_scope(engine) as s:
        apply_and_route(s, [(state, change)], routing, MONDAY_10_BJ)
    with session_scope(engine) as s:
        apply_and_route(s, [(raised, change2)], routing, MONDAY_10_BJ)
    with Session(engine) as s:
        steps = sorted({(r.step, r.recipient, r.channel) for r in s.exec(select(OutboxRow))})
    assert steps == [("open", "s1", "file"), ("raise-orange", "jj-duty", "file"),
                     ("raise-orange", "jj-duty", "webhook")]

    requests: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200)

    hook = WebhookChannel(SECRET, transport=httpx.MockTransport(receive))
    files = FileChannel(tmp_path)
    report = deliver_pending(engine, {"file": files, "webhook": hook}, now=MONDAY_10_BJ)
    assert report.sent == 3 and report.failed == report.dead == 0
    line = json.loads((tmp_path / "jj-duty.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert line["subject"].startswith("【橙色预警】集体访 — 锦江区 春熙路街道")
    assert "13812345678" not in line["body"] and "138******78" in line["body"]
    [req] = requests
    assert req.headers["X-Fenghuo-Idempotency-Key"].endswith(":raise-orange:jj-duty:webhook")
    h = req.headers
    assert verify(SECRET, h["X-Fenghuo-Timestamp"], req.content.decode(), h["X-Fenghuo-Signature"])
    # A second sweep has nothing left to send.
    assert deliver_pending(engine, {"file": files, "webhook": hook}, now=MONDAY_10_BJ).attempted == 0
