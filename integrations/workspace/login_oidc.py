"""Logging in through the government single sign-on (政务统一身份认证, OpenID Connect).

``/login/oidc`` sends the browser to the provider with a fresh state, nonce and PKCE verifier, kept in
a signed, HttpOnly cookie of ten minutes (SameSite=Lax: the provider's redirect back is a top-level
navigation from another site). ``/login/oidc/callback`` checks the state against that cookie, lets the
provider exchange the code and verify the ID token (:mod:`integrations.oidc`), and maps the configured
claim to an existing, active Fenghuo account — never creating one. Every refusal is audited and told in
Chinese; the provider's own error text is kept for the audit log, never shown.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from authlib.common.security import generate_token
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from domain.responders import ResponderDirectory
from integrations.i18n import N_, _
from integrations.oidc import IdentityProvider, OidcError
from integrations.settings import Settings
from integrations.store.audit import append_audit
from integrations.store.db import session_scope
from integrations.store.users import LoginRefused, sso_login
from integrations.workspace.login_state import safe_target, seal, signed_in, unseal
from integrations.workspace.render import page
from integrations.workspace.sessions import Throttle, same_token

OIDC_COOKIE = "fenghuo_oidc"
OIDC_TTL = timedelta(minutes=10)
"""How long the trip to the provider may take."""
_PURPOSE = "oidc-login"
CALLBACK_PATH = "/login/oidc/callback"
_REFUSED = {
    "unknown": N_("该统一身份认证账号尚未在烽火开通。请联系系统管理员用 `fenghuo users add` 开通"
                  "（用户名须与统一身份认证的登录名一致）。"),
    "disabled": N_("该账号已停用，请联系系统管理员。"),
    "locked": N_("连续输错次数过多，账号已暂时锁定，请 15 分钟后再试或联系系统管理员。"),
}


def oidc_router(
    engine: sa.Engine, settings: Settings, provider: IdentityProvider, *, directory: ResponderDirectory,
    clock: Callable[[], datetime], throttle: Throttle, client_of: Callable[[Request], str],
) -> APIRouter:
    """The single sign-on routes over ``provider`` (``throttle``: attempts per client address)."""
    router = APIRouter()
    redirect_uri = settings.public_base_url.rstrip("/") + CALLBACK_PATH
    issuer = settings.oidc_issuer or "oidc"

    def message(title: str, text: str, status: int) -> HTMLResponse:
        resp = page("message.html", status=status, title=title, text=text, viewer=None)
        resp.delete_cookie(OIDC_COOKIE)
        return resp

    def audit_failure(reason: str, now: datetime, client: str, username: str = "", detail: str = "") -> None:
        with session_scope(engine) as s:
            append_audit(session=s, warning_id=None, actor=f"web:{username[:90] or 'oidc'}", action="login_failed",
                         reason=reason, at=now, detail={"username": username[:100], "client": client,
                                                        "method": "oidc", "provider": issuer, "error": detail[:500]})

    @router.get("/login/oidc")
    def start(request: Request, next: str = "/inbox") -> Response:
        """Off to the provider, with state, nonce and a PKCE challenge."""
        now, client = clock(), client_of(request)
        if not throttle.hit(client, now):
            return message(_("尝试过于频繁"), _("登录尝试过于频繁，请 15 分钟后再试。"), 429)
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), generate_token(64)
        try:
            url = provider.authorization_url(redirect_uri=redirect_uri, state=state, nonce=nonce,
                                             code_verifier=verifier)
        except OidcError as exc:
            audit_failure("oidc-unreachable", now, client, detail=exc.detail)
            return message(_("暂时无法使用统一身份认证"),
                           _("政务统一身份认证平台暂时无法访问，请稍后再试，或使用烽火账号密码登录。"), 502)
        resp = RedirectResponse(url, status_code=303)
        resp.set_cookie(OIDC_COOKIE, seal(settings.session_secret, _PURPOSE,
                                          {"s": state, "n": nonce, "v": verifier, "t": safe_target(next)},
                                          ttl=OIDC_TTL, now=now),
                        max_age=int(OIDC_TTL.total_seconds()), httponly=True, samesite="lax",
                        secure=settings.public_base_url.startswith("https://"))
        return resp

    @router.get(CALLBACK_PATH)
    def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
        """Back from the provider: check the state, verify the ID token, log in the account it names."""
        now, client = clock(), client_of(request)
        trip = unseal(settings.session_keys(now), _PURPOSE, request.cookies.get(OIDC_COOKIE), now)
        if trip is None:
            return message(_("登录已超时"),
                           _("统一身份认证登录已超时或不是从本站发起的，请返回登录页重新点击登录。"), 400)
        if not same_token(str(trip["s"]), state):
            audit_failure("oidc-bad-state", now, client)
            return message(_("请求已失效"),
                           _("登录请求与本站发起的不一致（可能已过期或被篡改），请返回登录页重新登录。"), 403)
        if error or not code:
            audit_failure("oidc-denied", now, client, detail=error[:100])
            return message(_("统一身份认证未完成"),
                           _("统一身份认证平台未完成登录，请返回登录页重试，或使用烽火账号密码登录。"), 401)
        try:
            claims = provider.identity(code=code, redirect_uri=redirect_uri, code_verifier=str(trip["v"]),
                                       nonce=str(trip["n"]), now=now)
        except OidcError as exc:
            audit_failure(f"oidc-{exc.reason}", now, client, detail=exc.detail)
            return message(_("身份验证失败"), _("统一身份认证平台返回的身份凭证未通过校验，未登录。请返回登录页重试；"
                           "如反复出现，请联系系统管理员核对统一身份认证配置。"), 403)
        username = str(claims.get(settings.oidc_username_claim) or "").strip()
        try:
            with Session(engine, expire_on_commit=False) as s:
                try:
                    account = sso_login(session=s, username=username, provider=issuer, client=client, now=now)
                finally:
                    s.commit()  # the audit row is kept whether or not the login succeeded
        except LoginRefused as exc:
            return message(_("无法登录"), _(_REFUSED.get(exc.reason, _REFUSED["unknown"])), 403)
        if directory.responder(account.responder_id) is None:
            return message(_("无法登录"), _("该账号对应的责任人已不在责任人名录中，请联系系统管理员。"), 403)
        resp = signed_in(engine, account.username, str(trip["t"]), settings=settings, now=now)
        resp.delete_cookie(OIDC_COOKIE)
        return resp

    return router
