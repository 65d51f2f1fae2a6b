"""Feeds by jurisdiction: a personal feed token (or the workspace session) reads only its own subtree; a
warning outside it is a 404; the operator's city-wide token reads everything; tokens never in URLs; a
browser gets a single CAP message as a Chinese page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from lxml import etree
from pydantic import SecretStr

from integrations.actions_api import create_app
from integrations.cap_xml import ATOM_NS
from integrations.settings import Settings
from integrations.store.db import open_store, session_scope
from integrations.store.users import disable_account
from integrations.store.web_sessions import issue_feed_token, revoke_feed_tokens
from tests.integrations.workspace.conftest import NOW, SETTINGS, directory, seed
from tests.integrations.workspace.test_workspace import login

OPERATOR = SETTINGS.model_copy(update={"cap_feed_token": SecretStr("city-wide-operator-token")})


@pytest.fixture
def store(migrated_url: str) -> Iterator[tuple[sa.Engine, dict[str, int]]]:
    engine = open_store(migrated_url)
    yield engine, seed(engine)
    engine.dispose()


def _client(engine: sa.Engine, settings: Settings = OPERATOR) -> TestClient:
    return TestClient(create_app(engine, settings, directory=directory(), clock=lambda: NOW))


def _token(engine: sa.Engine, user: str) -> dict[str, str]:
    with session_scope(engine) as s:
        return {"Authorization": "Bearer " + issue_feed_token(session=s, username=user, actor="test", now=NOW)}


def _entries(client: TestClient, headers: dict[str, str] | None = None) -> dict[int, str]:
    """Warning id → path of its CAP message, from the feed."""
    feed = client.get("/cap/feed.atom", headers=headers)
    assert feed.status_code == 200, feed.text
    out = {}
    for entry in etree.fromstring(feed.content).findall(f"{{{ATOM_NS}}}entry"):
        path = entry.find(f"{{{ATOM_NS}}}link").get("href").removeprefix("http://testserver")
        out[int(path.split("-w")[1].split("-")[0])] = path
    return out


def test_a_personal_token_reads_its_own_subtree_only(store: tuple[sa.Engine, dict[str, int]]) -> None:
    engine, ids = store
    client = _client(engine)
    everything = _entries(client, {"Authorization": "Bearer city-wide-operator-token"})
    assert set(everything) == set(ids.values())
    street_a = _token(engine, "street-a")
    mine = _entries(client, street_a)
    assert set(mine) == {ids["a-red"], ids["a-yellow"]}
    assert client.get(mine[ids["a-red"]], headers=street_a).status_code == 200
    outside = client.get(everything[ids["b-orange"]], headers=street_a)
    assert outside.status_code == 404 and "管辖范围" in outside.text
    assert set(_entries(client, _token(engine, "district"))) == set(ids.values())


def test_revoked_tokens_and_disabled_accounts_read_nothing(store: tuple[sa.Engine, dict[str, int]]) -> None:
    engine, _ = store
    client = _client(engine, SETTINGS)
    first = _token(engine, "street-a")
    second = _token(engine, "street-a")
    assert client.get("/cap/feed.atom", headers=first).status_code == 401  # replaced by the second
    assert client.get("/cap/feed.atom", headers=second).status_code == 200
    with session_scope(engine) as s:
        revoke_feed_tokens(session=s, username="street-a", actor="test", now=NOW)
    refused = client.get("/cap/feed.atom", headers=second)
    assert refused.status_code == 401 and "feed-token" in refused.text
    third, other = _token(engine, "street-a"), _token(engine, "street-b")
    with session_scope(engine) as s:
        disable_account(session=s, username="street-b", actor="test", now=NOW)
    assert client.get("/cap/feed.atom", headers=third).status_code == 200
    assert client.get("/cap/feed.atom", headers=other).status_code == 401


def test_the_logged_in_responder_opens_the_feed_from_the_inbox(store: tuple[sa.Engine, dict[str, int]]) -> None:
    engine, ids = store
    client = _client(engine, SETTINGS)
    assert client.get("/cap/feed.atom").status_code == 401
    login(client, "street-b")
    assert 'href="/cap/feed.atom"' in client.get("/inbox").text
    assert set(_entries(client)) == {ids["b-orange"]}


def test_a_browser_gets_a_single_message_as_a_chinese_page(store: tuple[sa.Engine, dict[str, int]]) -> None:
    engine, ids = store
    client = _client(engine)
    auth = {"Authorization": "Bearer city-wide-operator-token"}
    path = _entries(client, auth)[ids["b-orange"]]
    xml = client.get(path, headers=auth)
    assert xml.headers["content-type"].startswith("application/cap+xml")
    html = client.get(path, headers=auth | {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "预警消息（CAP 1.2）" in html.text and "欠薪投诉集中" in html.text and "北京时间" in html.text
    assert "<alert" not in html.text and html.headers["x-frame-options"] == "DENY"
