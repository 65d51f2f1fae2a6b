"""Notification channels and rendering: file lines, masking, signed webhooks, errors at the boundary."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from domain.regions import RegionDirectory
from integrations.notify import (
    DeliveryError,
    FakeChannel,
    FileChannel,
    Notification,
    PermanentDeliveryError,
    TransientDeliveryError,
    WebhookChannel,
)
from integrations.notify.render import render
from integrations.notify.webhook import verify
from integrations.settings import get_settings
from integrations.store.models import WarningRow

AT = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
REGIONS = RegionDirectory.from_mapping({"510100000000": "成都市", "510104000000": "锦江区",
                                        "510104001000": "春熙路街道"})
SECRET = SecretStr("s3cret")


def _message(**kw: object) -> Notification:
    base: dict[str, object] = dict(idempotency_key="7:open:jj-duty:webhook", warning_id=7, step="open",
                                   recipient="jj-duty", channel="webhook", address="https://hook.test/in",
                                   level="orange", subject="【橙色预警】集体访", body="正文")
    base.update(kw)
    return Notification.model_validate(base)


def _warning() -> WarningRow:
    return WarningRow(
        id=42, fingerprint="fp", rule="collective-petition", title="集体访", level="orange",
        region="510104001000", tier="district", route_region="510104000000", first_at=AT,
        last_at=AT + timedelta(hours=1), occurrences=3,
        summary="60 人集体访：联系人 13812345678，身份证 51010419900101123X",
        explanation="people=60 ≥ 50（来电 13987654321）", ack_due_at=AT + timedelta(minutes=30),
        resolve_due_at=AT + timedelta(hours=72),
    )


def test_render_is_chinese_complete_and_masked() -> None:
    text = render(_warning(), step="open", recipient="jj-duty", regions=REGIONS)
    assert text.subject == "【橙色预警】集体访 — 锦江区 春熙路街道"
    for part in ("橙色（严重）", "成都市 / 锦江区 / 春熙路街道", "区县 锦江区", "2026-01-05 09:00",
                 "累计 3 次",
                 "2026-01-05 09:30", "fenghuo warnings ack 42 --as jj-duty", "people=60"):
        assert part in text.body, part
    for raw in ("13812345678", "51010419900101123X", "13987654321"):
        assert raw not in text.body and raw not in text.subject
    assert "138******78" in text.body
    assert "510104001000" in text.body  # region codes are places, not people: kept


def test_render_marks_escalations_and_reminders() -> None:
    assert "已逐级上报" in render(_warning(), step="escalate-1", recipient="x", regions=REGIONS).subject
    assert "第 2 次" in render(_warning(), step="remind-2", recipient="x", regions=REGIONS).subject


def test_file_channel_appends_json_lines_per_recipient(tmp_path: Path) -> None:
    channel = FileChannel(tmp_path)
    channel.send(_message())
    channel.send(_message(idempotency_key="7:escalate-1:jj-duty:file"))
    lines = (tmp_path / "jj-duty.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["idempotency_key"] for line in lines] == ["7:open:jj-duty:webhook",
                                                                       "7:escalate-1:jj-duty:file"]
    assert json.loads(lines[0])["subject"] == "【橙色预警】集体访"


def test_file_channel_defaults_to_the_settings_outbox() -> None:
    channel = FileChannel()
    channel.send(_message())
    assert (get_settings().resolved_outbox_dir / "jj-duty.jsonl").exists()


def test_fake_channel_fails_the_first_n() -> None:
    fake = FakeChannel(fail_first=2)
    for _ in range(2):
        with pytest.raises(TransientDeliveryError):
            fake.send(_message())
    fake.send(_message())
    assert len(fake.sent) == 1 and len(fake.attempts) == 3


def test_webhook_signs_the_body_and_carries_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    hook = WebhookChannel(SECRET, transport=httpx.MockTransport(handler), clock=lambda: 1767574800.0)
    hook.send(_message())
    hook.close()
    [req] = seen
    body = req.content.decode("utf-8")
    assert req.headers["X-Fenghuo-Idempotency-Key"] == "7:open:jj-duty:webhook"
    assert req.headers["X-Fenghuo-Timestamp"] == "1767574800"
    assert verify(SECRET, req.headers["X-Fenghuo-Timestamp"], body, req.headers["X-Fenghuo-Signature"])
    assert not verify("other", req.headers["X-Fenghuo-Timestamp"], body, req.headers["X-Fenghuo-Signature"])
    assert json.loads(body)["subject"] == "【橙色预警】集体访"


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (408, True), (400, False), (404, False)]
)
def test_webhook_status_codes_become_delivery_errors(status: int, retryable: bool) -> None:
    hook = WebhookChannel(SECRET, transport=httpx.MockTransport(lambda r: httpx.Response(status)))
    with pytest.raises(DeliveryError) as info:
        hook.send(_message())
    assert info.value.retryable is retryable


def test_webhook_network_errors_are_retryable_and_bad_addresses_are_not() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    hook = WebhookChannel(SECRET, transport=httpx.MockTransport(refuse))
    with pytest.raises(TransientDeliveryError):
        hook.send(_message())
    with pytest.raises(PermanentDeliveryError):
        hook.send(_message(address="mailto:someone@example.org"))


def test_one_click_links_are_signed_for_the_recipient_and_survive_masking() -> None:
    from integrations.links import parse_token, verify_link
    from integrations.notify.render import action_links

    links = action_links(42, "jj-duty", AT)
    text = render(_warning(), step="open", recipient="jj-duty", regions=REGIONS, links=links)
    assert f"一键确认：{links['ack']}" in text.body and f"一键办结：{links['resolve']}" in text.body
    claim = verify_link(parse_token(links["ack"].rsplit("/a/", 1)[1]), AT)
    assert (claim.warning_id, claim.action, claim.responder) == (42, "ack", "jj-duty")
