"""Government single sign-on (OpenID Connect): the identity provider as seen from Fenghuo.

:class:`AuthlibProvider` is the real one: discovery, the authorization-code flow with PKCE (S256), state
and nonce, through authlib's httpx client (built on httpx2, hence httpx2 here; its transport injectable,
so tests run a stub provider in process); the ID token is verified with joserfc against the provider's
JWKS — signature, ``iss``, ``aud``, ``exp`` and ``nonce``. :class:`FakeIdentityProvider` answers from
a table, for tests of the pages. Neither creates accounts: the workspace maps a verified claim to an
existing account or refuses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx2
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pydantic import SecretStr

from integrations.i18n import _
from integrations.settings import Settings

ALGORITHMS = ("RS256", "PS256", "ES256")
"""Signature algorithms accepted on an ID token (never ``none``, never a shared-secret HS*)."""
LEEWAY_S = 60
"""Clock skew tolerated on ``exp``/``iat`` between the provider and Fenghuo (seconds)."""


class OidcError(Exception):
    """The provider could not be reached or its answer failed verification; ``reason`` is a short code
    for the audit log (``unreachable``, ``token-refused``, ``invalid-id-token``)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


class IdentityProvider(Protocol):
    """An OpenID Connect provider, as far as the workspace's login needs one."""

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        """Where to send the browser to log in (the code challenge derived from ``code_verifier``)."""
        ...

    def identity(self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str,
                 now: datetime) -> dict[str, Any]:
        """The verified ID token claims for the authorization ``code``; :class:`OidcError` otherwise."""
        ...


class AuthlibProvider:
    """The provider at ``issuer`` (its discovery document at ``issuer/.well-known/openid-configuration``)."""

    def __init__(self, *, issuer: str, client_id: str, client_secret: SecretStr,
                 transport: httpx2.BaseTransport | None = None, timeout_s: float = 10.0) -> None:
        self.issuer, self.client_id, self._secret = issuer.rstrip("/"), client_id, client_secret
        self._transport, self._timeout = transport, timeout_s
        self._meta: dict[str, Any] | None = None

    def _client(self) -> OAuth2Client:
        extra: dict[str, Any] = {"transport": self._transport} if self._transport is not None else {}
        return OAuth2Client(client_id=self.client_id, client_secret=self._secret.get_secret_value(),
                            code_challenge_method="S256", timeout=self._timeout, **extra)

    def _metadata(self) -> dict[str, Any]:
        # Read once per process: endpoints rarely move, and a failed read is retried on the next login.
        if self._meta is None:
            with self._client() as client:
                try:
                    resp = client.request("GET", f"{self.issuer}/.well-known/openid-configuration", withhold_token=True)
                    resp.raise_for_status()
                    meta = resp.json()
                except (httpx2.HTTPError, ValueError) as exc:
                    raise OidcError("unreachable", _("读取发现文档失败：{error}").format(error=exc)) from exc
            if not isinstance(meta, dict) or str(meta.get("issuer", "")).rstrip("/") != self.issuer:
                raise OidcError("unreachable", _("发现文档中的签发方与配置的不一致"))
            self._meta = meta
        return self._meta

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        """The provider's authorization endpoint with the request (scope ``openid``, S256 challenge)."""
        with self._client() as client:
            url, _state = client.create_authorization_url(
                self._metadata()["authorization_endpoint"], state=state, code_verifier=code_verifier,
                nonce=nonce, redirect_uri=redirect_uri, scope="openid")
        return str(url)

    def identity(self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str,
                 now: datetime) -> dict[str, Any]:
        """Exchange the code (with the verifier) and verify the ID token it returns."""
        meta = self._metadata()
        with self._client() as client:
            try:
                token = client.fetch_token(meta["token_endpoint"], grant_type="authorization_code", code=code,
                                           code_verifier=code_verifier, redirect_uri=redirect_uri)
                jwks = client.request("GET", meta["jwks_uri"], withhold_token=True)
                jwks.raise_for_status()
                keys = KeySet.import_key_set(jwks.json())
            except (OAuthError, httpx2.HTTPError, ValueError, KeyError, JoseError) as exc:
                raise OidcError("token-refused", f"{type(exc).__name__}: {exc}") from exc
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not id_token:
            raise OidcError("token-refused", _("令牌应答中没有 id_token"))
        try:
            decoded = jwt.decode(str(id_token), keys, algorithms=list(ALGORITHMS))
            jwt.JWTClaimsRegistry(
                now=int(now.timestamp()), leeway=LEEWAY_S,
                iss={"essential": True, "value": self.issuer}, aud={"essential": True, "value": self.client_id},
                exp={"essential": True}, nonce={"essential": True, "value": nonce},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError("invalid-id-token", f"{type(exc).__name__}: {exc}") from exc
        return dict(decoded.claims)


class FakeIdentityProvider:
    """A provider that knows the claims of each code it is given (tests of the pages, demos)."""

    def __init__(self, claims_by_code: dict[str, dict[str, Any]]) -> None:
        self.claims_by_code = claims_by_code
        self.requests: list[dict[str, str]] = []

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        """A made-up authorization URL; the request is kept in ``requests``."""
        self.requests.append({"redirect_uri": redirect_uri, "state": state, "nonce": nonce})
        return "https://sso.invalid/authorize?" + urlencode({"state": state, "redirect_uri": redirect_uri})

    def identity(self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str,
                 now: datetime) -> dict[str, Any]:
        """The claims of ``code`` with this ``nonce``; :class:`OidcError` for an unknown code."""
        if code not in self.claims_by_code:
            raise OidcError("token-refused", _("未知的授权码"))
        return {**self.claims_by_code[code], "nonce": nonce}


def provider_for(settings: Settings) -> IdentityProvider | None:
    """The configured single sign-on provider, or ``None`` when ``oidc_issuer`` is unset."""
    if not settings.oidc_issuer:
        return None
    return AuthlibProvider(issuer=settings.oidc_issuer, client_id=settings.oidc_client_id,
                           client_secret=settings.oidc_client_secret, timeout_s=settings.http_timeout_s)
