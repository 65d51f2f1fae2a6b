"""The second login step of an account with TOTP: the 6-digit code from the authenticator.

After the right password, the browser holds a pending-login cookie (signed, HttpOnly, five minutes) that
names the account, the form's CSRF token and where to go next; the code form must echo the token. Codes
are throttled like passwords (per client address and per account) and a wrong one counts towards the
account's lock-out; a code already used — or one older than the last accepted — is refused (replay).
Every outcome is audited by the store (:mod:`integrations.store.user_totp`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from domain.responders import ResponderDirectory
from integrations.i18n import N_, _, explain
from integrations.settings import Settings
from integrations.store.audit import append_audit
from integrations.store.db import session_scope
from integrations.store.user_totp import accept_step, locked_until, refuse_code
from integrations.store.users import get_account
from integrations.totp import SecretBox, TotpError, matching_step
from integrations.workspace.login_state import seal, signed_in, unseal
from integrations.workspace.render import page
from integrations.workspace.sessions import Throttle, same_token

PENDING_COOKIE = "fenghuo_pending"
PENDING_TTL = timedelta(minutes=5)
"""How long the code may be entered after the password."""
_PURPOSE = "pending-login"
_WRONG = N_("动态口令不正确，请输入验证器上当前显示的 6 位数字。")
_LOCKED = N_("连续输错次数过多，账号已暂时锁定，请 15 分钟后再试或联系系统管理员。")


def ask_for_code(username: str, target: str, *, settings: Settings, now: datetime) -> RedirectResponse:
    """The answer to a right password of an account with TOTP: the pending cookie, then the code form."""
    value = seal(settings.session_secret, _PURPOSE, {"u": username, "c": secrets.token_urlsafe(24), "n": target},
                 ttl=PENDING_TTL, now=now)
    resp = RedirectResponse("/login/totp", status_code=303)
    resp.set_cookie(PENDING_COOKIE, value, max_age=int(PENDING_TTL.total_seconds()), httponly=True,
                    samesite="strict", secure=settings.public_base_url.startswith("https://"))
    return resp


def totp_router(
    engine: sa.Engine, settings: Settings, *, directory: ResponderDirectory, clock: Callable[[], datetime],
    throttles: tuple[Throttle, Throttle], client_of: Callable[[Request], str],
    form_of: Callable[[bytes], dict[str, str]],
) -> APIRouter:
    """``/login/totp``: the code form and its check (``throttles``: per client address, per account)."""
    router = APIRouter()
    box = SecretBox(settings.totp_key)
    per_client, per_account = throttles

    def again(pending: dict[str, Any], error: str, status: int) -> HTMLResponse:
        return page("login_totp.html", status=status, title=_("动态口令"), csrf=pending["c"], error=error, viewer=None)

    def expired() -> Response:
        resp = page("message.html", status=401, title=_("登录已超时"), viewer=None,
                    text=_("输入动态口令的时间已过或登录状态已失效，请返回登录页重新输入用户名和密码。"))
        resp.delete_cookie(PENDING_COOKIE)
        return resp

    @router.get("/login/totp", response_class=HTMLResponse)
    def code_form(request: Request) -> Response:
        """The code form, for a browser that has just given the right password."""
        pending = unseal(settings.session_keys(clock()), _PURPOSE, request.cookies.get(PENDING_COOKIE), clock())
        return again(pending, "", 200) if pending else expired()

    @router.post("/login/totp", response_class=HTMLResponse)
    async def check_code(request: Request) -> Response:
        """Check the code (throttled, audited, no replay) and start the session."""
        now, client = clock(), client_of(request)
        pending = unseal(settings.session_keys(now), _PURPOSE, request.cookies.get(PENDING_COOKIE), now)
        if pending is None:
            return expired()
        form, username = form_of(await request.body()), str(pending["u"])
        if not same_token(pending["c"], form.get("csrf")):
            return page("message.html", status=403, title=_("请求已失效"), viewer=None,
                        text=_("表单已过期或不是从本站提交的。请返回登录页重新登录。"))
        if not (per_client.hit(client, now) and per_account.hit(username, now)):
            with session_scope(engine) as s:
                append_audit(session=s, warning_id=None, actor=f"web:{username}", action="login_failed",
                             reason="rate-limited", at=now, detail={"username": username, "client": client})
            return page("message.html", status=429, title=_("尝试过于频繁"), viewer=None,
                        text=_("登录尝试过于频繁，请 15 分钟后再试；如无法使用验证器请联系系统管理员。"))
        with Session(engine) as s:
            account = get_account(session=s, username=username)
            locked = locked_until(session=s, username=username, now=now)
        if account is None or account.disabled or account.totp_secret is None:
            return expired()  # disabled or unbound since the password step: start again
        if locked is not None:
            return again(pending, _(_LOCKED), 401)
        try:
            step = matching_step(box.open(account.totp_secret), form.get("code", ""), now)
        except TotpError as exc:
            return page("message.html", status=500, title=_("无法验证动态口令"), text=explain(exc), viewer=None)
        with session_scope(engine) as s:
            if step is None:
                newly_locked = refuse_code(session=s, username=username, client=client, now=now)
            else:
                accepted = accept_step(session=s, username=username, step=step, client=client, now=now)
        if step is None:
            return again(pending, _(_LOCKED if newly_locked else _WRONG), 401)
        if not accepted:
            return again(pending, _("该动态口令已经用过，请等验证器显示新的口令后再输入。"), 401)
        if directory.responder(account.responder_id) is None:
            return page("message.html", status=403, title=_("无法登录"), viewer=None,
                        text=_("该账号对应的责任人已不在责任人名录中，请联系系统管理员。"))
        resp = signed_in(engine, username, str(pending.get("n") or "/inbox"), settings=settings, now=now)
        resp.delete_cookie(PENDING_COOKIE)
        return resp

    return router
