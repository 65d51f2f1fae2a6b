"""The two-step login of an account with TOTP, over HTTP: password, then the code on its own form (CSRF,
a short-lived signed pending cookie), throttled and audited, no code accepted twice; tiers that must."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from integrations.actions_api import create_app
from integrations.settings import Settings
from integrations.store.db import open_store, session_scope
from integrations.store.models import AuditRow
from integrations.store.user_totp import enrol_totp
from integrations.totp import SecretBox
from tests.integrations.workspace.conftest import NOW, PASSWORD, SETTINGS, directory, seed

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(migrated_url: str) -> Iterator[sa.Engine]:
    engine = open_store(migrated_url)
    seed(engine)
    with session_scope(engine) as s:
        enrol_totp(session=s, username="district", sealed=SecretBox(SETTINGS.totp_key).seal(SECRET),
                   directory=directory(), actor="test", now=NOW)
    yield engine
    engine.dispose()


def _client(store: sa.Engine, clock: Clock, settings: Settings = SETTINGS) -> TestClient:
    return TestClient(create_app(store, settings, directory=directory(), clock=clock))


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]*)"', html)
    assert match, html
    return match.group(1)


def _password(client: TestClient, user: str, target: str = "/inbox") -> TestClient:
    form = client.get("/login")
    resp = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": _csrf(form.text),
                                       "next": target}, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    return client


def _code(client: TestClient, code: str) -> int:
    form = client.get("/login/totp")
    assert form.status_code == 200
    return client.post("/login/totp", data={"code": code, "csrf": _csrf(form.text)},
                       follow_redirects=False).status_code


def _reasons(store: sa.Engine) -> list[str]:
    with Session(store) as s:
        return [f"{a.action}:{a.reason}" for a in s.exec(select(AuditRow).where(col(AuditRow.warning_id).is_(None))
                                                           .order_by(col(AuditRow.id)))]


def test_password_then_code_logs_in_and_the_same_code_is_refused_after(store: sa.Engine) -> None:
    clock = Clock()
    client = _client(store, clock)
    form = client.get("/login")
    resp = client.post("/login", data={"username": "district", "password": PASSWORD, "csrf": _csrf(form.text),
                                       "next": "/tasks"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login/totp"
    assert "fenghuo_session" not in client.cookies  # half logged in: no session yet
    pending = next(h for h in resp.headers.get_list("set-cookie") if h.startswith("fenghuo_pending="))
    assert "HttpOnly" in pending and "SameSite=strict" in pending and "Max-Age=300" in pending
    assert client.get("/inbox", follow_redirects=False).headers["location"].startswith("/login")
    page = client.get("/login/totp")
    assert "6 位动态口令" in page.text and 'autocomplete="one-time-code"' in page.text
    code = pyotp.TOTP(SECRET).at(NOW)
    done = client.post("/login/totp", data={"code": code, "csrf": _csrf(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/tasks"
    assert client.cookies.get("fenghuo_session")
    assert client.get("/inbox").status_code == 200
    # The same code a second time, even with a fresh password step within its window: refused.
    other = _password(_client(store, clock), "district")
    form2 = other.get("/login/totp")
    again = other.post("/login/totp", data={"code": code, "csrf": _csrf(form2.text)}, follow_redirects=False)
    assert again.status_code == 401 and "已经用过" in again.text and "fenghuo_session" not in other.cookies
    clock.now = NOW + timedelta(seconds=30)
    assert _code(other, pyotp.TOTP(SECRET).at(clock.now)) == 303
    assert _reasons(store)[-5:] == ["login_password_ok:", "login:", "login_password_ok:", "login_failed:totp-replay",
                                    "login:"]


def test_the_code_form_needs_its_csrf_token_and_a_live_pending_cookie(store: sa.Engine) -> None:
    clock = Clock()
    client = _password(_client(store, clock), "district")
    pending = client.cookies.get("fenghuo_pending")
    assert pending
    code = pyotp.TOTP(SECRET).at(NOW)
    forged = client.post("/login/totp", data={"code": code, "csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403 and "请求已失效" in forged.text
    # Without the pending cookie (another browser) there is nothing to finish.
    stranger = _client(store, clock)
    lost = stranger.post("/login/totp", data={"code": code, "csrf": "x"}, follow_redirects=False)
    assert lost.status_code == 401 and "登录已超时" in lost.text
    # Five minutes later the pending login has expired.
    form = client.get("/login/totp")
    clock.now = NOW + timedelta(minutes=5, seconds=1)
    late = client.post("/login/totp", data={"code": pyotp.TOTP(SECRET).at(clock.now), "csrf": _csrf(form.text)},
                       follow_redirects=False)
    assert late.status_code == 401 and "登录已超时" in late.text and "fenghuo_session" not in client.cookies
    # A pending cookie is no session (its signature is labelled for its purpose), even while it is live.
    clock.now = NOW
    impostor = _client(store, clock)
    impostor.cookies.set("fenghuo_session", pending)
    assert impostor.get("/inbox", follow_redirects=False).status_code == 303


def test_wrong_codes_lock_the_account_and_are_audited(store: sa.Engine) -> None:
    clock = Clock()
    client = _password(_client(store, clock), "district")
    assert [_code(client, "000000") for _ in range(4)] == [401] * 4
    form = client.get("/login/totp")
    fifth = client.post("/login/totp", data={"code": "000000", "csrf": _csrf(form.text)})
    assert fifth.status_code == 401 and "已暂时锁定" in fifth.text
    # Locked: even the right code is not checked, and the password step refuses too.
    assert _code(client, pyotp.TOTP(SECRET).at(NOW)) == 401
    assert "fenghuo_session" not in client.cookies
    form = client.get("/login")
    assert client.post("/login", data={"username": "district", "password": PASSWORD,
                                       "csrf": _csrf(form.text)}).status_code == 401
    failures = [r for r in _reasons(store) if r.startswith("login_failed")]
    assert failures[:5] == ["login_failed:totp-bad-code"] * 4 + ["login_failed:locked"]
    # Codes share the password's throttle (10 attempts per account in 15 minutes): two passwords and
    # six codes so far; two more codes, then the account is throttled even from a fresh browser.
    assert [_code(client, "000000") for _ in range(2)] == [401, 401]
    assert _code(client, pyotp.TOTP(SECRET).at(NOW)) == 429
    assert _reasons(store)[-1] == "login_failed:rate-limited"


def test_a_tier_that_requires_totp_refuses_an_unbound_account_others_are_unchanged(store: sa.Engine) -> None:
    strict = SETTINGS.model_copy(update={"totp_required_tiers": ["city"]})
    clock = Clock()
    leader = _client(store, clock, strict)
    form = leader.get("/login")
    refused = leader.post("/login", data={"username": "leader", "password": PASSWORD, "csrf": _csrf(form.text)})
    assert refused.status_code == 403 and "fenghuo users totp" in refused.text
    assert "fenghuo_session" not in leader.cookies
    assert _reasons(store)[-1] == "login_failed:totp-required"
    # A street account is never asked for a code, whatever the setting says.
    street = _password(_client(store, clock, strict), "street-a")
    assert street.cookies.get("fenghuo_session")
