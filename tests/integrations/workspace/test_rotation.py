"""Rotating the link and session secrets: the new key signs, the previous ones still verify during the
grace period and not after it; production refuses weak previous keys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from integrations.actions_api import create_app
from integrations.links import make_link
from integrations.settings import Settings
from tests.integrations.workspace.conftest import NOW, PASSWORD, SETTINGS, directory, seed

OLD_SESSION, OLD_LINK = SETTINGS.session_secret, SETTINGS.link_secret


def rotated(**grace: object) -> Settings:
    """SETTINGS after a rotation: new current keys, the old ones as previous."""
    return SETTINGS.model_copy(update={"session_secret": SecretStr("new-session-key-" + "n" * 40),
                                       "link_secret": SecretStr("new-link-key-" + "n" * 40),
                                       "session_secrets_previous": [OLD_SESSION],
                                       "link_secrets_previous": [OLD_LINK], **grace})


@pytest.fixture
def store(sqlite_engine: sa.Engine) -> Iterator[tuple[sa.Engine, dict[str, int]]]:
    yield sqlite_engine, seed(sqlite_engine)


def _client(engine: sa.Engine, settings: Settings) -> TestClient:
    return TestClient(create_app(engine, settings, directory=directory(), clock=lambda: NOW))


def _logged_in_cookie(engine: sa.Engine) -> str:
    client = _client(engine, SETTINGS)
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]*)"', form.text)
    assert csrf
    client.post("/login", data={"username": "street-a", "password": PASSWORD, "csrf": csrf.group(1)},
                follow_redirects=False)
    return str(client.cookies["fenghuo_session"])


def _inbox_status(engine: sa.Engine, settings: Settings, cookie: str) -> int:
    client = _client(engine, settings)
    client.cookies.set("fenghuo_session", cookie)
    return client.get("/inbox", follow_redirects=False).status_code


def test_sessions_signed_before_a_rotation_last_through_the_grace_period(
        store: tuple[sa.Engine, dict[str, int]]) -> None:
    engine, _ = store
    cookie = _logged_in_cookie(engine)
    assert _inbox_status(engine, rotated(), cookie) == 200
    assert _inbox_status(engine, rotated(previous_secrets_until=NOW + timedelta(hours=1)), cookie) == 200
    assert _inbox_status(engine, rotated(previous_secrets_until=NOW), cookie) == 303  # grace over: log in again
    assert _inbox_status(engine, rotated(session_secrets_previous=[]), cookie) == 303


def test_links_sent_before_a_rotation_work_through_the_grace_period(store: tuple[sa.Engine, dict[str, int]]) -> None:
    engine, ids = store
    path = make_link("http://testserver", ids["a-red"], "ack", "jgq-officer", NOW + timedelta(hours=2),
                     secret=OLD_LINK).removeprefix("http://testserver")
    assert _client(engine, rotated(previous_secrets_until=NOW + timedelta(days=1))).get(path).status_code == 200
    assert _client(engine, rotated(previous_secrets_until=NOW)).get(path).status_code == 403
    fresh = make_link("http://testserver", ids["a-red"], "ack", "jgq-officer", NOW + timedelta(hours=2),
                      secret=rotated().link_secret).removeprefix("http://testserver")
    assert _client(engine, rotated(previous_secrets_until=NOW)).get(fresh).status_code == 200


def test_production_refuses_development_or_short_previous_keys() -> None:
    good = {"pseudonym_key": "p" * 40, "link_secret": "l" * 40, "webhook_secret": "w" * 40,
            "session_secret": "s" * 40, "totp_key": "t" * 40}
    assert Settings(env="production", **good, link_secrets_previous=["o" * 40]).insecure_secrets() == []
    weak = Settings(env="production", **good, session_secrets_previous=["fenghuo-development-session-secret"])
    assert any("SESSION_SECRETS_PREVIOUS" in p for p in weak.insecure_secrets())
    short = Settings(env="production", **good, link_secrets_previous=["short"])
    assert any("LINK_SECRETS_PREVIOUS" in p for p in short.insecure_secrets())

