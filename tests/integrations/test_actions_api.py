"""The one-click action endpoint: GET shows, POST acts once; tampered, expired, replayed and
out-of-jurisdiction links are refused and audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from domain.responders import ResponderDirectory
from integrations.actions_api import create_app
from integrations.links import make_link
from integrations.settings import Settings
from integrations.store.db import open_store, session_scope
from integrations.store.models import ActionLinkRow, AuditRow, OutboxRow, WarningRow

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing
SETTINGS = Settings(link_secret="api-test-secret", public_base_url="http://testserver")


def _directory() -> ResponderDirectory:
    def chan(name: str) -> list[dict[str, str]]:
        return [{"type": "file", "address": name}]

    data: dict[str, Any] = {
        "city": "510100000000",
        "leadership": [{"id": "leader", "name": "值班领导", "channels": chan("leader")}],
        "nodes": {
            "510100000000": {"responders": [{"id": "city-duty", "name": "市值班室", "kind": "unit",
                                              "channels": chan("city-duty")}]},
            "510104001001": {"responders": [{"id": "c1", "name": "红星社区书记", "channels": chan("c1")}]},
            "510105001001": {"responders": [{"id": "c2", "name": "另一社区书记", "channels": chan("c2")}]},
        },
    }
    return ResponderDirectory.model_validate(data)


@pytest.fixture
def store(migrated_url: str) -> Iterator[sa.Engine]:
    """A migrated store on SQLite and on PostgreSQL (a copy of the migrated template: tests/store_templates.py)."""
    engine = open_store(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> list[datetime]:
    return [NOW]


@pytest.fixture
def client(store: sa.Engine, clock: list[datetime]) -> TestClient:
    return TestClient(create_app(store, SETTINGS, directory=_directory(), clock=lambda: clock[0]))


def _warning(store: sa.Engine, region: str = "510104001001") -> int:
    with session_scope(store) as s:
        w = WarningRow(fingerprint=f"fp-{region}", open_key=f"fp-{region}", rule="collective-petition",
                       title="集体访 13812345678", level="yellow", region=region, first_at=NOW, last_at=NOW,
                       opened_at=NOW)
        s.add(w)
        s.flush()
        assert w.id is not None
        return w.id


def _path(wid: int, action: str = "ack", responder: str = "c1", ttl: timedelta = timedelta(hours=2)) -> str:
    url = make_link("http://testserver", wid, action, responder, NOW + ttl,  # type: ignore[arg-type]
                    secret=SETTINGS.link_secret)
    return url.removeprefix("http://testserver")


def _status(store: sa.Engine, wid: int) -> str:
    with Session(store) as s:
        row = s.get(WarningRow, wid)
        assert row is not None
        return row.status


def _refusals(store: sa.Engine) -> list[str]:
    with Session(store) as s:
        rows = s.exec(select(AuditRow).where(AuditRow.action == "link_refused").order_by(col(AuditRow.id)))
        return [a.reason for a in rows]


def test_get_shows_a_button_and_changes_nothing(client: TestClient, store: sa.Engine) -> None:
    wid = _warning(store)
    path = _path(wid)
    for _ in range(3):  # link previewers may GET it many times
        page = client.get(path)
        assert page.status_code == 200 and '<form method="post">' in page.text
        assert "黄色（较重）" in page.text and "13812345678" not in page.text
        assert page.headers["cache-control"] == "no-store"
    assert _status(store, wid) == "open"


def test_post_acknowledges_once_then_replay_is_refused(client: TestClient, store: sa.Engine) -> None:
    wid = _warning(store)
    path = _path(wid)
    done = client.post(path)
    assert done.status_code == 200 and "已签收" in done.text
    assert _status(store, wid) == "acknowledged"
    for method in (client.post, client.get):
        again = method(path)
        assert again.status_code == 410 and "已使用" in again.text
    assert _refusals(store) == ["used", "used"]
    with Session(store) as s:
        actions = [a.action for a in s.exec(select(AuditRow).where(AuditRow.warning_id == wid))]
    assert actions.count("acknowledged") == 1


def test_resolve_link_with_reason(client: TestClient, store: sa.Engine) -> None:
    wid = _warning(store)
    with session_scope(store) as s:
        s.add(OutboxRow(idempotency_key=f"{wid}:open:c1:file", warning_id=wid, step="open", recipient="c1",
                        channel="file", address="c1", status="sent"))
    done = client.post(_path(wid, "resolve"), content="reason=%E5%B7%B2%E8%B0%83%E8%A7%A3",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200 and "已办结" in done.text
    with Session(store) as s:
        audit = s.exec(select(AuditRow).where(AuditRow.action == "resolved")).one()
    assert audit.reason == "已调解" and audit.actor == "c1"
    with Session(store) as s:  # the link's resolve tells whoever was told, as every resolve does
        told = s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid, OutboxRow.step == "resolve")).all()
    assert [(r.idempotency_key, r.status) for r in told] == [(f"{wid}:resolve:c1:file", "pending")]


def test_tampered_link_is_refused_and_audited(client: TestClient, store: sa.Engine) -> None:
    wid = _warning(store)
    other = _warning(store, "510104001002")
    path = _path(wid)
    forged = path.replace(f"/a/v1.{wid}.", f"/a/v1.{other}.")
    for method in (client.get, client.post):
        assert method(forged).status_code == 403
    assert method(path.replace(".ack.", ".resolve.")).status_code == 403
    assert client.get("/a/not-a-token").status_code == 403
    assert _status(store, other) == "open" and _status(store, wid) == "open"
    assert _refusals(store) == ["tampered", "tampered", "tampered", "malformed"]
    with Session(store) as s:
        first = s.exec(select(AuditRow).where(AuditRow.action == "link_refused")).first()
    assert first is not None and first.warning_id == other and first.actor == "link:anonymous"


def test_expired_link_is_refused(client: TestClient, store: sa.Engine, clock: list[datetime]) -> None:
    wid = _warning(store)
    path = _path(wid, ttl=timedelta(minutes=30))
    clock[0] = NOW + timedelta(minutes=31)
    assert client.get(path).status_code == 410
    assert client.post(path).status_code == 410
    assert _status(store, wid) == "open"
    assert _refusals(store) == ["expired", "expired"]


def test_link_outside_the_responders_jurisdiction_is_refused(client: TestClient, store: sa.Engine) -> None:
    wid = _warning(store)  # in c1's community; the link names c2 of another district
    refused = client.post(_path(wid, responder="c2"))
    assert refused.status_code == 403
    assert _status(store, wid) == "open"
    with Session(store) as s:
        audit = s.exec(select(AuditRow).where(AuditRow.action == "refused")).one()
        assert audit.actor == "c2"
        assert s.get(ActionLinkRow, "x") is None
    # The refused attempt did not spend the link: nothing was done with it.
    with Session(store) as s:
        assert list(s.exec(select(ActionLinkRow))) == []


def test_action_that_no_longer_applies_is_a_409(client: TestClient, store: sa.Engine) -> None:
    wid = _warning(store)
    assert client.post(_path(wid, "resolve")).status_code == 200
    late_ack = client.post(_path(wid, "ack"))
    assert late_ack.status_code == 409 and "resolved" in late_ack.text


def test_a_flood_of_bogus_links_writes_a_bounded_audit(client: TestClient, store: sa.Engine) -> None:
    # 200 bogus requests from one address: 20 audited (each with bounded fields), the rest refused with
    # 429 and only counted — the store does not grow with an unauthenticated client's traffic.
    statuses = [client.get(f"/a/v1.1.ack.{'x' * 24_000}.{i}").status_code for i in range(200)]
    assert statuses[:20] == [403] * 20 and set(statuses[20:]) == {429}
    with Session(store) as s:
        rows = s.exec(select(AuditRow).where(AuditRow.action == "link_refused")).all()
    assert len(rows) == 20
    assert all(len(json.dumps(r.detail, ensure_ascii=False)) < 1_000 for r in rows)
    late = client.get("/a/bogus")
    assert late.status_code == 429 and late.headers["Retry-After"] == "900"
