"""Single sign-on through a stub OpenID Connect provider run in process (httpx MockTransport): discovery,
JWKS, an authorization redirect and a token endpoint that checks the PKCE verifier and the client secret
and signs an RS256 ID token. The whole flow through the workspace, then each refusal, all audited."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2 as httpx
import pyotp
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from pydantic import SecretStr
from sqlmodel import Session, col, select

from integrations.actions_api import create_app
from integrations.oidc import AuthlibProvider
from integrations.settings import InsecureSettingsError, Settings, get_settings
from integrations.store.db import open_store, session_scope
from integrations.store.models import AuditRow
from integrations.store.user_totp import enrol_totp
from integrations.totp import SecretBox
from tests.integrations.workspace.conftest import NOW, PASSWORD, SETTINGS, directory, seed

ISSUER = "https://sso.example.gov.cn/oidc"
CLIENT_ID, CLIENT_SECRET = "fenghuo-test", "stub-provider-client-secret"
OIDC = SETTINGS.model_copy(update={"oidc_issuer": ISSUER, "oidc_client_id": CLIENT_ID,
                                   "oidc_client_secret": SecretStr(CLIENT_SECRET)})


@pytest.fixture(scope="module")
def keys() -> tuple[RSAKey, RSAKey]:
    """The provider's signing key, and a stranger's."""
    return RSAKey.generate_key(2048, parameters={"kid": "k1"}), RSAKey.generate_key(2048, parameters={"kid": "k1"})


class StubProvider:
    """A tiny OIDC provider: ``handle`` serves discovery, JWKS and the token endpoint; ``authorize`` is
    what its login page does once the user has logged in there (a redirect back with a code)."""

    def __init__(self, key: RSAKey, signer: RSAKey | None = None) -> None:
        self.key, self.signer = key, signer or key
        self.codes: dict[str, dict[str, Any]] = {}
        self.claims: dict[str, Any] = {}  # overrides of the ID token's claims

    def authorize(self, url: str, user: str) -> str:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert url.startswith(f"{ISSUER}/authorize?") and query["client_id"] == CLIENT_ID
        assert query["response_type"] == "code" and "openid" in query["scope"].split()
        assert query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"user": user, "nonce": query["nonce"], "challenge": query["code_challenge"],
                            "redirect_uri": query["redirect_uri"]}
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/oidc")
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize",
                                             "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks"})
        if path == "/jwks":
            return httpx.Response(200, json={"keys": [self.key.as_dict(private=False)]})
        if path == "/token" and request.method == "POST":
            return self._token(request)
        return httpx.Response(404)

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        grant = self.codes.pop(form.get("code", ""), None)
        if request.headers.get("authorization") != f"Basic {basic}" or grant is None:
            return httpx.Response(400, json={"error": "invalid_grant"})
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).decode().rstrip("=") != grant["challenge"]:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "PKCE"})
        if form.get("redirect_uri") != grant["redirect_uri"] or form.get("grant_type") != "authorization_code":
            return httpx.Response(400, json={"error": "invalid_request"})
        now = int(NOW.timestamp())
        claims = {"iss": ISSUER, "sub": f"gov-{grant['user']}", "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                  "nonce": grant["nonce"], "preferred_username": grant["user"], **self.claims}
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.signer)
        return httpx.Response(200, json={"access_token": "at", "token_type": "Bearer", "expires_in": 300,
                                         "id_token": id_token})


@pytest.fixture
def store(migrated_url: str) -> Iterator[sa.Engine]:
    engine = open_store(migrated_url)
    seed(engine)
    yield engine
    engine.dispose()


def _client(store: sa.Engine, stub: StubProvider) -> TestClient:
    provider = AuthlibProvider(issuer=ISSUER, client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET),
                               transport=httpx.MockTransport(stub.handle))
    return TestClient(create_app(store, OIDC, directory=directory(), clock=lambda: NOW, oidc=provider))


def _sign_on(client: TestClient, stub: StubProvider, user: str, target: str = "/inbox") -> httpx.Response:
    start = client.get("/login/oidc", params={"next": target}, follow_redirects=False)
    assert start.status_code == 303, start.text
    trip = next(h for h in start.headers.get_list("set-cookie") if h.startswith("fenghuo_oidc="))
    assert "HttpOnly" in trip and "SameSite=lax" in trip
    back = stub.authorize(start.headers["location"], user)
    assert back.startswith("http://testserver/login/oidc/callback?")
    return client.get(back, follow_redirects=False)


def _failures(store: sa.Engine) -> list[str]:
    with Session(store) as s:
        rows = s.exec(select(AuditRow).where(AuditRow.action == "login_failed").order_by(col(AuditRow.id)))
        return [a.reason or "" for a in rows]


def test_the_login_page_offers_single_sign_on_only_when_configured(store: sa.Engine, keys: Any) -> None:
    assert "政务统一身份认证登录" in _client(store, StubProvider(keys[0])).get("/login").text
    plain = TestClient(create_app(store, SETTINGS, directory=directory(), clock=lambda: NOW))
    assert "政务统一身份认证登录" not in plain.get("/login").text
    assert plain.get("/login/oidc", follow_redirects=False).status_code == 404


def test_a_known_account_signs_on_through_the_stub_provider(store: sa.Engine, keys: Any) -> None:
    stub = StubProvider(keys[0])
    client = _client(store, stub)
    start = client.get("/login/oidc", params={"next": "/tasks"}, follow_redirects=False)
    back = stub.authorize(start.headers["location"], "district")
    done = client.get(back, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/tasks", done.text
    assert client.cookies.get("fenghuo_session") and "fenghuo_oidc" not in client.cookies
    assert "锦江区" in client.get("/inbox").text
    with Session(store) as s:
        login = s.exec(select(AuditRow).where(AuditRow.action == "login")).one()
    assert login.detail["method"] == "oidc" and login.detail["provider"] == ISSUER
    assert _failures(store) == []
    # The trip is over: replaying the provider's redirect finds no trip cookie and logs no one in.
    replayed = _client(store, stub)
    assert replayed.get(back, follow_redirects=False).status_code == 400 and "fenghuo_session" not in replayed.cookies


@pytest.mark.parametrize(("claims", "reason"), [
    ({"nonce": "someone-else's"}, "oidc-invalid-id-token"),
    ({"aud": "another-client"}, "oidc-invalid-id-token"),
    ({"exp": int(NOW.timestamp()) - 120}, "oidc-invalid-id-token"),
    ({"iss": "https://evil.example"}, "oidc-invalid-id-token"),
])
def test_an_id_token_that_fails_verification_is_refused(store: sa.Engine, keys: Any, claims: dict[str, Any],
                                                        reason: str) -> None:
    stub = StubProvider(keys[0])
    stub.claims = claims
    client = _client(store, stub)
    refused = _sign_on(client, stub, "district")
    assert refused.status_code == 403 and "未通过校验" in refused.text, refused.text
    assert "fenghuo_session" not in client.cookies and "Traceback" not in refused.text
    assert _failures(store) == [reason]


def test_a_token_signed_by_another_key_is_refused(store: sa.Engine, keys: Any) -> None:
    stub = StubProvider(keys[0], signer=keys[1])
    client = _client(store, stub)
    assert _sign_on(client, stub, "district").status_code == 403
    assert _failures(store) == ["oidc-invalid-id-token"]


def test_a_bad_state_or_a_missing_trip_cookie_is_refused(store: sa.Engine, keys: Any) -> None:
    stub = StubProvider(keys[0])
    client = _client(store, stub)
    start = client.get("/login/oidc", follow_redirects=False)
    back = stub.authorize(start.headers["location"], "district")
    query = parse_qs(urlsplit(back).query)
    forged = client.get("/login/oidc/callback", params={"code": query["code"][0], "state": "forged"},
                        follow_redirects=False)
    assert forged.status_code == 403 and "请求已失效" in forged.text
    assert _failures(store) == ["oidc-bad-state"]
    # Another browser, without the trip cookie, cannot finish someone else's login.
    stranger = _client(store, stub)
    assert stranger.get(back, follow_redirects=False).status_code == 400
    assert "fenghuo_session" not in client.cookies and "fenghuo_session" not in stranger.cookies


def test_an_identity_without_an_active_account_is_refused_never_created(store: sa.Engine, keys: Any) -> None:
    stub = StubProvider(keys[0])
    client = _client(store, stub)
    refused = _sign_on(client, stub, "nobody")
    assert refused.status_code == 403 and "尚未在烽火开通" in refused.text
    assert _failures(store) == ["oidc-unknown"]
    with Session(store) as s:
        assert s.exec(select(AuditRow).where(AuditRow.action == "user_added")).all()  # the seed's only
        failed = s.exec(select(AuditRow).where(AuditRow.reason == "oidc-unknown")).one()
    assert failed.detail["username"] == "nobody" and failed.detail["method"] == "oidc"


def test_an_unreachable_provider_is_told_in_chinese(store: sa.Engine) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    provider = AuthlibProvider(issuer=ISSUER, client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET),
                               transport=httpx.MockTransport(down))
    client = TestClient(create_app(store, OIDC, directory=directory(), clock=lambda: NOW, oidc=provider))
    resp = client.get("/login/oidc", follow_redirects=False)
    assert resp.status_code == 502 and "暂时无法访问" in resp.text
    assert _failures(store) == ["oidc-unreachable"]


def test_production_refuses_a_development_oidc_client_secret() -> None:
    strong = {name: "s" * 40 for name in ("pseudonym_key", "link_secret", "webhook_secret", "session_secret",
                                          "totp_key")}
    assert Settings(env="production", **strong).insecure_secrets() == []  # no SSO configured: nothing to say
    with pytest.raises(InsecureSettingsError, match="FENGHUO_OIDC_CLIENT_SECRET"):
        Settings(env="production", oidc_issuer=ISSUER, **strong).require_safe_for("production")
    assert Settings(env="production", oidc_issuer=ISSUER, oidc_client_secret=CLIENT_SECRET,
                    **strong).insecure_secrets() == []


def test_a_disabled_account_is_refused_through_the_fake_provider(store: sa.Engine) -> None:
    from integrations.oidc import FakeIdentityProvider
    from integrations.store.users import disable_account

    with session_scope(store) as s:
        disable_account(session=s, username="street-b", actor="test", now=NOW)
    fake = FakeIdentityProvider({"c-b": {"preferred_username": "street-b"}, "c-a": {"preferred_username": "street-a"}})
    for code, status in (("c-b", 403), ("c-a", 303)):
        client = TestClient(create_app(store, OIDC, directory=directory(), clock=lambda: NOW, oidc=fake))
        assert client.get("/login/oidc", follow_redirects=False).status_code == 303
        resp = client.get("/login/oidc/callback", params={"code": code, "state": fake.requests[-1]["state"]},
                          follow_redirects=False)
        assert resp.status_code == status, resp.text
        assert ("已停用" in resp.text) == (status == 403)
    assert _failures(store) == ["oidc-disabled"]


def test_single_sign_on_skips_the_local_totp_the_provider_does_the_second_factor(store: sa.Engine, keys: Any) -> None:
    # docs/login.md: an OIDC login never asks for Fenghuo's code, even for an enrolled account of a tier
    # where the code is compulsory; the same account's password login is sent to the code form.
    from integrations.store.db import session_scope
    with session_scope(store) as s:
        enrol_totp(session=s, username="district", sealed=SecretBox(SETTINGS.totp_key).seal(pyotp.random_base32()),
                   directory=directory(), actor="test", now=NOW)
    settings = OIDC.model_copy(update={"totp_required_tiers": ["district", "city"]})
    stub = StubProvider(keys[0])
    provider = AuthlibProvider(issuer=ISSUER, client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET),
                               transport=httpx.MockTransport(stub.handle))
    client = TestClient(create_app(store, settings, directory=directory(), clock=lambda: NOW, oidc=provider))
    done = _sign_on(client, stub, "district")
    assert done.status_code == 303 and done.headers["location"] == "/inbox", done.text
    assert client.cookies.get("fenghuo_session") and "锦江区" in client.get("/inbox").text
    assert _failures(store) == []

    plain = TestClient(create_app(store, settings, directory=directory(), clock=lambda: NOW, oidc=provider))
    form = plain.get("/login").text
    csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    by_password = plain.post("/login", data={"username": "district", "password": PASSWORD, "csrf": csrf},
                             follow_redirects=False)
    assert by_password.status_code == 303 and by_password.headers["location"].startswith("/login/totp")
    assert "fenghuo_session" not in plain.cookies


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def test_refusals_speak_english_on_request(store: sa.Engine, keys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each refusal page and the audit's detail in the language in force; the page has no Chinese left.
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    stub = StubProvider(keys[0])
    refused = _sign_on(_client(store, stub), stub, "nobody")
    assert refused.status_code == 403 and "has no Fenghuo account yet" in refused.text
    expired = _client(store, stub).get("/login/oidc/callback", params={"code": "x", "state": "y"})
    assert expired.status_code == 400 and "Login timed out" in expired.text

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    provider = AuthlibProvider(issuer=ISSUER, client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET),
                               transport=httpx.MockTransport(down))
    unreachable = TestClient(create_app(store, OIDC, directory=directory(), clock=lambda: NOW, oidc=provider)
                             ).get("/login/oidc", follow_redirects=False)
    assert unreachable.status_code == 502 and "cannot be reached" in unreachable.text
    for page in (refused.text, expired.text, unreachable.text):
        assert not CJK.findall(page), CJK.findall(page)
    with Session(store) as s:
        failed = s.exec(select(AuditRow).where(AuditRow.reason == "oidc-unreachable")).one()
    assert failed.detail["error"].startswith("discovery: ")


def test_the_fake_provider_refuses_an_unknown_code_in_the_language_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.oidc import FakeIdentityProvider, OidcError

    def refusal() -> str:
        with pytest.raises(OidcError) as caught:
            FakeIdentityProvider({}).identity(code="x", redirect_uri="", code_verifier="", nonce="", now=NOW)
        return caught.value.detail

    assert refusal() == "未知的授权码"
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    assert refusal() == "unknown code"
