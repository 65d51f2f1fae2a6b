"""The small HTTP endpoint behind one-click action links (FastAPI); with ``settings.cap_feed_token`` set,
it also serves the restricted CAP feed (:mod:`integrations.cap_api`).

``GET /a/{token}`` checks the link and shows the warning with one button; ``POST /a/{token}`` (the button)
consumes the link and acknowledges or resolves the warning through :mod:`integrations.store.actions`, which checks
the responder's jurisdiction and audits the change. Acting on GET would be simpler, but IM clients
(WeCom, DingTalk, Feishu) unfurl links and mail gateways scan them with GETs: a warning would be
"acknowledged" by a robot before any person read it, and its escalation would stop. The system warns;
humans decide — so a person presses the button.

A tampered or malformed link is refused with 403, an expired or already used one with 410, and each
refusal is written to the audit log (``link_refused``) with the reason and the client address.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from domain.privacy import mask
from domain.responders import ResponderDirectory
from domain.warnings import Level
from integrations.links import LinkClaim, LinkError, consume_link, ensure_unused, parse_token, verify_link
from integrations.settings import Settings
from integrations.store.actions import ActionError, JurisdictionError, acknowledge, resolve
from integrations.store.audit import append_audit
from integrations.store.db import session_scope
from integrations.store.models import WarningRow
from integrations.workspace import workspace_router

_VERB = {"ack": "签收（确认收到并开始处置）", "resolve": "办结"}
_HEADERS = {
    # The token is a capability: keep it out of caches, Referer headers and search indexes.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
DEFAULT_RESOLVE_REASON = "经一键链接办结"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · 烽火</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers=_HEADERS)


def _describe(warning: WarningRow) -> str:
    level = Level(warning.level).chinese if warning.level in Level.__members__ else warning.level
    return (f"<p>预警 #{warning.id}：{html.escape(mask(warning.title or warning.rule))}</p>"
            f"<p>等级：{html.escape(level)}；状态：{html.escape(warning.status)}</p>")


@dataclass(frozen=True)
class _LinkPages:
    """The pages of the action-link endpoint over one store, responders directory and clock."""

    engine: sa.Engine
    settings: Settings
    people: ResponderDirectory
    now_of: Callable[[], datetime]

    def refuse(self, request: Request, token: str, err: LinkError) -> HTMLResponse:
        """Audit the refused link (in its own transaction) and answer 403/410."""
        try:
            params = parse_token(token)
        except LinkError:
            params = {}
        claimed = params.get("warning_id", "")
        with session_scope(self.engine) as session:
            # Unverified fields are only recorded as claims; the warning id is kept if it exists.
            wid: int | None = None
            if claimed.isdigit() and session.get(WarningRow, int(claimed)) is not None:
                wid = int(claimed)
            append_audit(
                session=session, warning_id=wid, actor="link:anonymous", action="link_refused",
                reason=err.reason, at=self.now_of(),
                detail={"method": request.method, "client": request.client.host if request.client else "",
                        "claimed_responder": params.get("responder", ""), "claimed_action":
                        params.get("action", ""), "error": str(err)},
            )
        title = {"expired": "链接已过期", "used": "链接已使用过"}.get(err.reason, "链接无效")
        return _page(title, "<p>此链接不能再使用。请在烽火系统中处理，或联系值班室。</p>", err.status)

    def check(self, token: str) -> LinkClaim:
        """The link's claim, if its signature and expiry hold (else :class:`LinkError`)."""
        return verify_link(parse_token(token), self.now_of(), secret=self.settings.link_secret)

    def confirm(self, token: str, request: Request) -> HTMLResponse:
        """Show the warning and the one button that acts (a GET never changes anything)."""
        try:
            claim = self.check(token)
            with Session(self.engine) as session:
                ensure_unused(session=session, nonce=claim.nonce)
                warning = session.get(WarningRow, claim.warning_id)
        except LinkError as err:
            return self.refuse(request, token, err)
        if warning is None:
            return _page("预警不存在", "<p>该预警不存在。</p>", 404)
        reason = ("" if claim.action == "ack" else
                  f'<p><label>办结说明：<br><textarea name="reason" rows="3" cols="40">'
                  f"{DEFAULT_RESOLVE_REASON}</textarea></label></p>")
        form = (f'<form method="post">{reason}<button type="submit">确认{_VERB[claim.action]}</button>'
                f"</form><p>操作人：{html.escape(claim.responder)}；链接只能使用一次。</p>")
        return _page(f"预警{_VERB[claim.action].split('（')[0]}", _describe(warning) + form)

    def act(self, token: str, request: Request, reason: str) -> HTMLResponse:
        """Consume the link and act on the warning as the link's responder."""
        try:
            claim = self.check(token)
        except LinkError as err:
            return self.refuse(request, token, err)
        now = self.now_of()
        try:
            with session_scope(self.engine) as session:
                # The same transaction changes the warning and marks the link used: both or neither.
                # The action goes first: a refusal is audited in a transaction of its own, which on
                # SQLite would wait behind the link row's write lock.
                ensure_unused(session=session, nonce=claim.nonce)
                if claim.action == "ack":
                    warning = acknowledge(session=session, warning_id=claim.warning_id,
                                          responder=claim.responder, directory=self.people,
                                          reason=reason or "经一键链接签收", now=now)
                else:
                    warning = resolve(session=session, warning_id=claim.warning_id, responder=claim.responder,
                                      directory=self.people, reason=reason or DEFAULT_RESOLVE_REASON, now=now)
                consume_link(session=session, claim=claim, now=now)
                page = _page(f"已{_VERB[claim.action].split('（')[0]}", _describe(warning)
                             + f"<p>操作人：{html.escape(claim.responder)}，已记录在案。</p>")
        except LinkError as err:
            return self.refuse(request, token, err)
        except JurisdictionError:
            # integrations.store.actions has already audited the refusal in a transaction of its own.
            return _page("无权处理", "<p>该预警不在您的管辖范围内，操作已被拒绝并记录。</p>", 403)
        except ActionError as err:
            return _page("无法处理", f"<p>{html.escape(str(err))}</p>", 409)
        return page


def create_app(
    engine: sa.Engine,
    settings: Settings,
    *,
    directory: ResponderDirectory | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The action-link app over the store ``engine``; responders from ``directory`` (default: the
    ``responders`` setting's file), time from ``clock`` (default: now, UTC)."""
    app = FastAPI(title="烽火 一键处置", docs_url=None, redoc_url=None, openapi_url=None)
    people = directory if directory is not None else ResponderDirectory.load(settings.responders)
    now_of = clock or (lambda: datetime.now(UTC))
    app.include_router(workspace_router(engine, settings, directory=people, clock=now_of))
    pages = _LinkPages(engine, settings, people, now_of)

    if settings.cap_feed_token is not None:
        from integrations.cap_api import cap_router

        app.include_router(cap_router(engine, settings, clock=now_of))

    @app.get("/a/{token:path}", response_class=HTMLResponse)
    def confirm(token: str, request: Request) -> HTMLResponse:
        """Show the warning and the one button that acts (a GET never changes anything)."""
        return pages.confirm(token, request)

    @app.post("/a/{token:path}", response_class=HTMLResponse)
    async def act(token: str, request: Request) -> HTMLResponse:
        """Consume the link and act on the warning as the link's responder."""
        # The form has one optional field; parsing it by hand spares a multipart dependency.
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        return pages.act(token, request, (form.get("reason") or [""])[0].strip()[:500])

    return app
