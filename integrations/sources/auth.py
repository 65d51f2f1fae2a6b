"""Authentication of REST sources as :class:`httpx.Auth` flows: API key header, bearer token, OAuth2.

Secrets are resolved by name when the source is built (:func:`resolve_secret`): from
``settings.source_secrets`` or, for ``secret_block``, a Prefect Secret block (Prefect is imported only
then). They are never logged: errors name the secret, not its value.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator

import httpx

from domain.messages import N_, Message
from integrations.settings import Settings
from integrations.sources.schema import AuthModel


class AuthError(Exception):
    """Credentials are missing or the token endpoint refused them (a configuration problem)."""


def resolve_secret(auth: AuthModel, settings: Settings) -> str:
    """The secret ``auth`` names; :class:`AuthError` saying where it was looked for if absent."""
    if auth.secret is not None:
        value = settings.source_secrets.get(auth.secret)
        if value is None:
            raise AuthError(Message(N_("密钥 {name} 未设置；请加入 FENGHUO_SOURCE_SECRETS（名称: 值 的 JSON 对象）"),
                                    name=repr(auth.secret)))
        return value.get_secret_value()
    if auth.secret_block is not None:
        from prefect.blocks.system import Secret  # lazy: only sources that use a block need Prefect

        try:
            return str(Secret.load(auth.secret_block).get())  # type: ignore[union-attr]
        except Exception as exc:  # a missing block, an unreachable Prefect API: say which block
            raise AuthError(Message(N_("无法加载 Prefect Secret 块 {block}：{reason}"), block=repr(auth.secret_block),
                                    reason=str(exc))) from exc
    raise AuthError(Message(N_("未配置密钥")))


class HeaderAuth(httpx.Auth):
    """A fixed header on every request (API key, or ``Authorization: Bearer`` token)."""

    def __init__(self, header: str, value: str) -> None:
        self.header, self.value = header, value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header."""
        request.headers[self.header] = self.value
        yield request


class OAuth2ClientCredentials(httpx.Auth):
    """OAuth2 client-credentials grant: a token fetched, cached until shortly before it expires, and
    fetched again once when the API answers 401 (revoked or rotated early)."""

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url, self.client_id, self.client_secret, self.scope = token_url, client_id, client_secret, scope
        self.clock = clock
        self.token: str | None = None
        self.expires_at = 0.0

    def _token_request(self) -> httpx.Request:
        data = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}
        if self.scope:
            data["scope"] = self.scope
        return httpx.Request("POST", self.token_url, data=data)

    def _take(self, resp: httpx.Response) -> None:
        if resp.status_code != 200:
            raise AuthError(Message(N_("令牌端点 {url} 答复 {status}；请检查 client id 和密钥"), url=self.token_url,
                                    status=resp.status_code))
        try:
            body = resp.json()
            self.token = str(body["access_token"])
        except (ValueError, KeyError, TypeError):
            raise AuthError(Message(N_("令牌端点 {url} 未返回 access_token"), url=self.token_url)) from None
        # Renew 30 s early so a token never expires between our check and the department's.
        self.expires_at = self.clock() + float(body.get("expires_in", 3600)) - 30

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Get a token if needed, send the request with it, renew once on 401."""
        if self.token is None or self.clock() >= self.expires_at:
            self._take((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401:
            self._take((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request


def build_auth(auth: AuthModel, secret: Callable[[AuthModel], str]) -> httpx.Auth | None:
    """The httpx auth flow for ``auth`` (``None`` for ``type: none``); ``secret`` resolves its secret."""
    if auth.type == "none":
        return None
    value = secret(auth)
    if auth.type == "api_key":
        return HeaderAuth(auth.header, value)
    if auth.type == "bearer":
        return HeaderAuth("Authorization", f"Bearer {value}")
    assert auth.token_url and auth.client_id  # checked by the schema
    return OAuth2ClientCredentials(auth.token_url, auth.client_id, value, auth.scope)
