"""The served CAP feed: token required, only current warnings, every entry's link resolves to a valid alert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from lxml import etree

from integrations.actions_api import create_app
from integrations.cap import parse_cap
from integrations.cap_xml import ATOM_NS, validate_against
from integrations.settings import Settings
from integrations.store.db import open_store, session_scope
from integrations.store.models import AuditRow, WarningRow
from tests.integrations.test_cap import XSD  # the CAP schema beside the checkout (test_cap.py says where)

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
SETTINGS = Settings(cap_feed_token="feed-token", public_base_url="http://testserver")
AUTH = {"Authorization": "Bearer feed-token"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    engine = open_store(f"sqlite:///{tmp_path}/cap.db")
    _seed(engine)
    yield TestClient(create_app(engine, SETTINGS, clock=lambda: T0 + timedelta(hours=5)))
    engine.dispose()


def _seed(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        for i, (level, status) in enumerate([("red", "open"), ("yellow", "acknowledged"), ("orange", "resolved")]):
            w = WarningRow(fingerprint=f"{i:024d}", open_key=None if status == "resolved" else f"{i:024d}",
                           rule="collective-petition", title="集体访", level=level, status=status,
                           region="510104001001", first_at=T0, last_at=T0, opened_at=T0,
                           resolved_at=T0 + timedelta(hours=2) if status == "resolved" else None)
            s.add(w)
            s.flush()
            s.add(AuditRow(warning_id=w.id, at=T0, actor="system", action="opened", detail={"level": "blue"}))
            s.add(AuditRow(warning_id=w.id, at=T0 + timedelta(hours=1), actor="system", action="raised",
                           detail={"from": "blue", "to": level}))
            if status == "resolved":
                s.add(AuditRow(warning_id=w.id, at=T0 + timedelta(hours=2), actor="c1", action="resolved"))


def test_feed_needs_a_token(client: TestClient) -> None:
    assert client.get("/cap/feed.atom").status_code == 401
    assert client.get("/cap/feed.atom", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/cap/fenghuo-w1-000000000000-1.xml").status_code == 401


def test_feed_lists_current_warnings_and_links_resolve(client: TestClient) -> None:
    feed = client.get("/cap/feed.atom", headers=AUTH)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(feed.content)
    hrefs = [e.find(f"{{{ATOM_NS}}}link").get("href") for e in root.findall(f"{{{ATOM_NS}}}entry")]
    assert len(hrefs) == 2
    for href in hrefs:
        doc = client.get(href.removeprefix("http://testserver"), headers=AUTH)
        assert doc.status_code == 200
        alert = parse_cap(doc.content)
        assert alert.msg_type == "Update" and len(alert.references) == 1
        if XSD.exists():
            assert validate_against(doc.content, XSD) == []


def test_cancel_message_of_a_resolved_warning_is_served(client: TestClient) -> None:
    doc = client.get("/cap/fenghuo-w3-000000000000-3.xml", headers=AUTH)
    assert doc.status_code == 200 and parse_cap(doc.content).msg_type == "Cancel"
    for missing in ("fenghuo-w3-000000000000-4", "fenghuo-w3-ffffffffffff-1", "fenghuo-w99-0-1", "x"):
        assert client.get(f"/cap/{missing}.xml", headers=AUTH).status_code == 404


def test_without_the_operator_token_the_feed_is_for_personal_tokens_only(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path}/none.db")
    client = TestClient(create_app(engine, Settings(), directory=None))
    assert client.get("/cap/feed.atom").status_code == 401
    assert client.get("/cap/feed.atom", headers={"Authorization": "Bearer "}).status_code == 401
    engine.dispose()


def test_a_token_in_the_url_is_refused_with_a_reason(client: TestClient) -> None:
    for path in ("/cap/feed.atom", "/cap/fenghuo-w1-000000000000-1.xml"):
        refused = client.get(path, params={"token": "feed-token"})
        assert refused.status_code == 400 and "Authorization: Bearer" in refused.text and "网址" in refused.text
