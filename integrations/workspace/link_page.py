"""The one-click link's page (``/a/{token}``): the warning's context and the one action, in Chinese.

GET shows what the link is about (summary, place, time, deadline) and the one button; it changes nothing,
because IM clients and mail gateways fetch links by themselves. A link whose responder may not act on the
warning (unknown, or the warning lies outside their jurisdiction) is refused before any button is shown,
and the refusal is audited. POST consumes the link and acts through :mod:`integrations.store.actions`;
the page that follows leads into the workspace (which asks to log in when needed).

Link checking is :mod:`integrations.links`; refusals keep the statuses of the link endpoint (403 forged,
410 spent or expired) and are audited as ``link_refused``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qs

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from domain.privacy import mask
from domain.regions import RegionDirectory, is_within
from domain.responders import ResponderDirectory
from domain.warnings import Level
from integrations.i18n import N_, _
from integrations.links import LinkClaim, LinkError, consume_link, ensure_unused, parse_token, verify_link
from integrations.resolution import resolve_as, routing_for
from integrations.route import Routing
from integrations.settings import Settings
from integrations.store.actions import ActionError, JurisdictionError, acknowledge
from integrations.store.audit import append_audit
from integrations.store.db import session_scope
from integrations.store.models import WarningRow
from integrations.wording import worded
from integrations.workspace import present
from integrations.workspace.names import STATUS_CN
from integrations.workspace.render import LINK_HEADERS
from integrations.workspace.render import page as _page
from integrations.workspace.sessions import Throttle


def page(template: str, *, status: int = 200, **context: object) -> HTMLResponse:
    """A page of the link endpoint: never cached, never referred, never indexed."""
    return _page(template, status=status, headers=LINK_HEADERS, **context)


VERB = {"ack": N_("签收"), "resolve": N_("办结")}
DEFAULT_REASON = {"ack": N_("经一键链接签收"), "resolve": N_("经一键链接办结")}


REFUSALS_AUDITED = 20
"""Refused link requests audited one by one per client address within :data:`REFUSAL_WINDOW`."""
REFUSAL_WINDOW = timedelta(minutes=15)


def link_router(
    engine: sa.Engine, settings: Settings, *, directory: ResponderDirectory,
    regions: RegionDirectory | None = None, clock: Callable[[], datetime], routing: Routing | None = None,
) -> APIRouter:
    """``GET``/``POST /a/{token}`` over the store ``engine``; a resolve tells whoever was told of the warning
    (``integrations.resolution.resolve_as``) with ``routing`` (default: the settings' policy and templates)."""
    router = APIRouter()
    names = regions if regions is not None else RegionDirectory.load(settings.regions)
    told_with = routing if routing is not None else routing_for(settings, directory, names)

    refusals = Throttle(REFUSALS_AUDITED, REFUSAL_WINDOW)
    suppressed: dict[str, int] = {}

    def refuse(request: Request, token: str, reason: str, message: str, status: int) -> HTMLResponse:
        """Audit the refused link (its own transaction) and answer with a page that has no button.

        Unauthenticated requests must not grow the store: a client's first refusals in a window are
        audited one by one, later ones only counted (and the count audited with its next audited one),
        and answered 429."""
        client = request.client.host if request.client else ""
        if not refusals.hit(client, clock()):
            suppressed[client] = suppressed.get(client, 0) + 1
            if len(suppressed) > 10_000:  # a scan of addresses cannot fill memory either
                suppressed.clear()
            resp = page("link.html", status=429, title=_("请求过于频繁"),
                        text=_("此地址的无效链接请求过多，已暂停受理。请 15 分钟后再试，或登录预警工作台处理。"),
                        w=None, viewer=None, ctx=None)
            resp.headers["Retry-After"] = str(int(REFUSAL_WINDOW.total_seconds()))
            return resp
        try:
            params = parse_token(token[:2000])
        except LinkError:
            params = {}
        claimed = params.get("warning_id", "")[:20]
        with session_scope(engine) as session:
            # Unverified fields are only recorded as claims; the warning id is kept if it exists.
            wid: int | None = None
            if claimed.isdigit() and session.get(WarningRow, int(claimed)) is not None:
                wid = int(claimed)
            append_audit(session=session, warning_id=wid, actor="link:anonymous", action="link_refused",
                         reason=reason, at=clock(),
                         detail={"method": request.method, "client": client[:64],
                                 "claimed_responder": params.get("responder", "")[:100],
                                 "claimed_action": params.get("action", "")[:20], "error": message[:200],
                                 "suppressed_before": suppressed.pop(client, 0)})
        why = {"expired": N_("链接已过期"), "used": N_("链接已使用过"), "jurisdiction": N_("无权处理")}
        title = _(why.get(reason, N_("链接无效")))
        text = (_("该预警不在此链接所属责任人的管辖范围内，不能通过此链接处理。请联系值班室。")
                if reason == "jurisdiction" else _("此链接不能再使用。请登录预警工作台处理，或联系值班室。"))
        return page("link.html", status=status, title=title, text=text, w=None, viewer=None, ctx=None)

    def context(warning: WarningRow) -> dict[str, object]:
        level = Level(warning.level).chinese if warning.level in Level.__members__ else warning.level
        return {"title": mask(worded(warning.title or warning.rule)), "summary": mask(worded(warning.summary)),
                "level": level,
                "place": present.place(warning.region, names), "first": present.beijing(warning.first_at),
                "last": present.beijing(warning.last_at), "deadline": present.deadline_of(warning, clock()),
                "status": STATUS_CN.get(warning.status, warning.status)}

    def may_act(claim: LinkClaim, warning: WarningRow) -> bool:
        person = directory.responder(claim.responder)
        if person is None:
            return False
        root = directory.city if directory.is_leadership(person.id) else person.node
        return is_within(warning.region, root)

    @router.get("/a/{token:path}", response_class=HTMLResponse)
    def confirm(token: str, request: Request) -> HTMLResponse:
        """The warning's context and the one button (a GET never changes anything)."""
        try:
            claim = verify_link(parse_token(token), (now := clock()), secret=settings.link_keys(now))
            with Session(engine) as session:
                ensure_unused(session=session, nonce=claim.nonce)
                warning = session.get(WarningRow, claim.warning_id)
        except LinkError as err:
            return refuse(request, token, err.reason, str(err), err.status)
        if warning is None:
            return page("message.html", status=404, title=_("预警不存在"), text=_("该预警不存在。"),
                        viewer=None)
        if not may_act(claim, warning):
            return refuse(request, token, "jurisdiction", f"{claim.responder} may not act on {warning.region}", 403)
        person = directory.responder(claim.responder)
        return page("link.html", title=_("预警{verb}").format(verb=_(VERB[claim.action])), w=warning,
                    ctx=context(warning), viewer=None,
                    action=claim.action, verb=VERB[claim.action], default_reason=DEFAULT_REASON[claim.action],
                    who=person.name if person else claim.responder, text="")

    @router.post("/a/{token:path}", response_class=HTMLResponse)
    async def act(token: str, request: Request) -> HTMLResponse:
        """Consume the link and act on the warning as the link's responder."""
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        reason = (form.get("reason") or [""])[0].strip()[:500]
        try:
            claim = verify_link(parse_token(token), (now := clock()), secret=settings.link_keys(now))
        except LinkError as err:
            return refuse(request, token, err.reason, str(err), err.status)
        now = clock()
        try:
            with session_scope(engine) as session:
                # The action and the link's use commit together: both or neither. The action goes first:
                # its refusal is audited in a transaction of its own, which on SQLite would otherwise wait
                # behind the link row's write lock.
                ensure_unused(session=session, nonce=claim.nonce)
                why = reason or DEFAULT_REASON[claim.action]
                if claim.action == "ack":
                    warning = acknowledge(session=session, warning_id=claim.warning_id, responder=claim.responder,
                                          directory=directory, reason=why, now=now)
                else:  # a resolve tells whoever was told of the warning
                    warning = resolve_as(session=session, warning_id=claim.warning_id, responder=claim.responder,
                                         directory=directory, reason=why, now=now, routing=told_with)
                consume_link(session=session, claim=claim, now=now)
                ctx = context(warning)
        except LinkError as err:
            return refuse(request, token, err.reason, str(err), err.status)
        except JurisdictionError:
            # The store has already audited the refusal in a transaction of its own.
            return page("message.html", status=403, title=_("无权处理"),
                        text=_("该预警不在您的管辖范围内，操作已被拒绝并记录。"), viewer=None)
        except ActionError:
            with Session(engine) as session:
                current = session.get(WarningRow, claim.warning_id)
            status = current.status if current else ""
            return page("message.html", status=409, title=_("无法处理"),
                        text=_("这条预警当前的状态（{status}，{value}）不允许{verb}。请登录预警工作台查看。").format(
                            status=_(STATUS_CN.get(status, status)), value=status,
                            verb=_(VERB[claim.action])), viewer=None)
        return page("link.html", title=_("已{verb}").format(verb=_(VERB[claim.action])), w=warning, ctx=ctx,
                    viewer=None, action="",
                    verb=_(VERB[claim.action]),
                    text=_("已{verb}，已记录在案。").format(verb=_(VERB[claim.action])))

    return router
