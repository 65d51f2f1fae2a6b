"""The workspace's routes: log in and out, the inbox, a warning's page and its actions.

Every page is server-rendered (Jinja2, no script). A responder sees and acts on their own region subtree
only: a warning outside it is a 404 by URL, exactly as if it did not exist. The actions are the store's
(:mod:`integrations.store.actions`: the same the CLI and the one-click links call), which check the
jurisdiction again and audit the change.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from domain.privacy import mask
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from integrations.i18n import N_, _, explain
from integrations.oidc import IdentityProvider, provider_for
from integrations.resolution import resolve_as
from integrations.settings import Settings
from integrations.store import actions
from integrations.store.audit import append_audit
from integrations.store.db import session_scope
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.silences import SilenceRefused, add_silence
from integrations.store.tasks import list_tasks
from integrations.store.users import LoginRefused, authenticate
from integrations.store.warnings import audit_trail
from integrations.store.web_sessions import end_session
from integrations.tasks import TaskContext
from integrations.totp import required as totp_required
from integrations.wording import worded
from integrations.workspace import handover_form, present
from integrations.workspace.handover_form import workspace_routing
from integrations.workspace.inbox import STATUSES, Filters, inbox, level_counts, rules_in
from integrations.workspace.link_page import link_router
from integrations.workspace.login_oidc import oidc_router
from integrations.workspace.login_state import safe_target, signed_in
from integrations.workspace.login_totp import ask_for_code, totp_router
from integrations.workspace.names import LEVEL_CN
from integrations.workspace.render import page
from integrations.workspace.report_form import report_router
from integrations.workspace.sessions import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Throttle,
    same_token,
)
from integrations.workspace.tasks_page import tasks_router
from integrations.workspace.viewer import Viewer, viewer_of

_ACTIONS: dict[str, tuple[Callable[..., object], str]] = {
    "ack": (actions.acknowledge, N_("已签收")),
    "comment": (actions.comment, N_("批注已记录")),
    "resolve": (resolve_as, N_("已办结")),
}
_DONE = {**{k: v[1] for k, v in _ACTIONS.items()}, "silence": N_("同类预警的通知已静默"),
         "handover": N_("已移交给下级，并已通知其处置人员")}


THROTTLE_WINDOW = timedelta(minutes=15)
"""Login attempts are counted over this window: 20 per client address, 10 per account."""


def _form(body: bytes) -> dict[str, str]:
    # Forms are urlencoded and small; parsing them by hand spares a multipart dependency.
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def workspace_router(
    engine: sa.Engine, settings: Settings, *, directory: ResponderDirectory,
    regions: RegionDirectory | None = None, clock: Callable[[], datetime], oidc: IdentityProvider | None = None,
) -> APIRouter:
    """The workspace over the store ``engine`` for the responders of ``directory``; single sign-on through
    ``oidc`` (default: the provider ``settings.oidc_issuer`` names, if any)."""
    router = APIRouter()
    names = regions if regions is not None else RegionDirectory.load(settings.regions)
    task_ctx = TaskContext.for_workspace(settings, directory, names)
    routing = workspace_routing(settings, task_ctx)
    # The one-click link page is the workspace's too; included first, it answers /a/{token}.
    router.include_router(link_router(engine, settings, directory=directory, regions=names, clock=clock,
                                      routing=routing))
    secure = settings.public_base_url.startswith("https://")
    per_client, per_account = Throttle(20, THROTTLE_WINDOW), Throttle(10, THROTTLE_WINDOW)
    throttled_noted = Throttle(1, THROTTLE_WINDOW)
    sso = oidc if oidc is not None else provider_for(settings)
    # The second login steps share the password's throttles: a code or a trip to the provider is an attempt.
    router.include_router(totp_router(engine, settings, directory=directory, clock=clock,
                                      throttles=(per_client, per_account), client_of=_client, form_of=_form))
    if sso is not None:
        router.include_router(oidc_router(engine, settings, sso, directory=directory, clock=clock,
                                          throttle=per_client, client_of=_client))

    viewer = viewer_of(engine, settings, directory, clock)
    titles = present.rule_titles(settings.rulebook)

    def to_login(request: Request) -> RedirectResponse:
        return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)

    router.include_router(report_router(engine, settings, viewer=viewer, regions=names, clock=clock, to_login=to_login))

    def refused(title: str, text: str, status: int, who: Viewer | None = None) -> HTMLResponse:
        return page("message.html", status=status, title=title, text=text, viewer=who)

    @router.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        """The workspace starts at the inbox."""
        return RedirectResponse("/inbox", status_code=303)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/inbox", error: str = "") -> HTMLResponse:
        """The login form, with a fresh CSRF token in a cookie of its own."""
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        resp = page("login.html", title=_("登录"), csrf=token, next=next, error=error, viewer=None, sso=sso is not None)
        resp.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="lax", secure=secure)
        return resp

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        """Check the password (throttled, audited) and start a session."""
        form = _form(await request.body())
        username, target = form.get("username", "").strip()[:100], safe_target(form.get("next"))
        now, client = clock(), _client(request)
        if not same_token(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
            return refused(_("请求已失效"), _("表单已过期或不是从本站提交的。请返回登录页重新输入。"), 403)
        if not (per_client.hit(client, now) and per_account.hit(username, now)):
            # Unauthenticated requests must not grow the store: one audit row per client and window says
            # it was throttled; the refused attempts after it are only counted in memory.
            if throttled_noted.hit(client[:64], now):
                with session_scope(engine) as s:
                    append_audit(session=s, warning_id=None, actor=f"web:{username[:90]}", action="login_failed",
                                 reason="rate-limited", at=now, detail={"username": username, "client": client[:64]})
            return refused(_("尝试过于频繁"),
                           _("登录尝试过于频繁，请 15 分钟后再试；如忘记密码请联系系统管理员。"), 429)
        try:
            with Session(engine, expire_on_commit=False) as s:
                try:
                    account = authenticate(session=s, username=username, password=form.get("password", ""),
                                           client=client, now=now)
                finally:
                    s.commit()  # the failure count and the audit row are kept whether or not it succeeded
        except LoginRefused as exc:
            error = {"locked": _("连续输错次数过多，账号已暂时锁定，请 15 分钟后再试或联系系统管理员。"),
                     "disabled": _("该账号已停用，请联系系统管理员。")}.get(exc.reason, _("用户名或密码不正确。"))
            return page("login.html", status=401, title=_("登录"), csrf=request.cookies.get(LOGIN_COOKIE),
                        next=target, error=error, viewer=None, sso=sso is not None)
        person = directory.responder(account.responder_id)
        if person is None:
            return refused(_("无法登录"), _("该账号对应的责任人已不在责任人名录中，请联系系统管理员。"), 403)
        if account.totp_secret:
            resp: Response = ask_for_code(account.username, target, settings=settings, now=now)
        elif totp_required(person.node, settings.totp_required_tiers):
            with session_scope(engine) as s:
                append_audit(session=s, warning_id=None, actor=f"web:{account.username}", action="login_failed",
                             reason="totp-required", at=now, detail={"username": account.username, "client": client})
            return refused(_("需要动态口令"), _("您的账号所在层级要求使用动态口令登录，但尚未绑定。"
                                                "请联系系统管理员运行 `fenghuo users totp 用户名` 绑定后再登录。"), 403)
        else:
            resp = signed_in(engine, account.username, target, settings=settings, now=now)
        resp.delete_cookie(LOGIN_COOKIE)
        return resp

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        """End the session (the form carries its CSRF token too: no one logs you out from elsewhere)."""
        who = viewer(request)
        if who is None or not same_token(who.session.csrf, _form(await request.body()).get("csrf")):
            return refused(_("请求已失效"), _("表单已过期或不是从本站提交的。请刷新页面后重试。"), 403, who)
        with session_scope(engine) as s:
            end_session(session=s, sid=who.session.sid, now=clock())
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    @router.get("/inbox", response_class=HTMLResponse)
    def inbox_page(request: Request, level: str = "", status: str = "unresolved", rule: str = "",
                   place: str = "", mine: str = "") -> Response:
        """The responder's warnings: their subtree only, red first, with deadlines counting down."""
        who = viewer(request)
        if who is None:
            return to_login(request)
        filters = Filters(level=level if level in LEVEL_CN else "",
                          status=status if status in STATUSES else "unresolved", rule=rule[:100],
                          place=place.strip()[:50], mine=bool(mine))
        now = clock()
        with Session(engine) as s:
            rows = inbox(session=s, root=who.root, node=who.person.node, leadership=who.leadership,
                         filters=filters, names=names)
            counts = level_counts(session=s, root=who.root)
            rules = rules_in(session=s, root=who.root, status=filters.status)
            if filters.rule and filters.rule not in rules:
                rules.append(filters.rule)
        items = [{"row": r, "title": mask(worded(r.title or r.rule)), "summary": mask(worded(r.summary)),
                  "place": present.place(r.region, names), "deadline": present.deadline_of(r, now)}
                 for r in rows]
        return page("inbox.html", title=_("预警待办"), viewer=who, items=items, counts=counts,
                    rules=[(r, present.rule_label(r, titles)) for r in rules],
                    filters=filters, now=present.beijing(now), scope=present.place(who.root, names))

    @router.get("/w/{warning_id}", response_class=HTMLResponse)
    def warning_page(request: Request, warning_id: int, done: str = "") -> Response:
        """One warning: what, where, who holds it until when, why, the records, the story, the actions."""
        who = viewer(request)
        if who is None:
            return to_login(request)
        now = clock()
        with Session(engine) as s:
            row = s.get(WarningRow, warning_id)
            if row is None or not who.may_see(row):
                return refused(_("预警不存在"), _("没有这条预警，或它不在您的管辖范围内。"), 404, who)
            trail = audit_trail(session=s, warning_id=warning_id)
            sent = list(s.exec(select(OutboxRow).where(OutboxRow.warning_id == warning_id)
                               .order_by(col(OutboxRow.id))))
            tasks = present.tasks_of(list_tasks(session=s, warning_id=warning_id), names, now)
            below = handover_form.choices(s, row, who, routing, names)
        return page("warning.html", title=_("预警 #{id}").format(id=row.id), viewer=who, w=row,
                    title_text=mask(worded(row.title or row.rule)),
                    summary=mask(worded(row.summary)), explanation=mask(worded(row.explanation)).splitlines(),
                    rule=present.rule_label(row.rule, titles),
                    place=present.place(row.region, names), holder=present.holder(row, names),
                    deadline=present.deadline_of(row, now), events=present.timeline(trail, sent, directory, names),
                    first=present.beijing(row.first_at), last=present.beijing(row.last_at),
                    silenced=present.silence_note(sent), done=_DONE.get(done, ""), tasks=tasks, below=below)

    def silence(who: Viewer, row: WarningRow, form: dict[str, str]) -> Response:
        """Silence this warning's rule in its region, at its level and below, for some hours (the store
        checks the jurisdiction, the red rule and the longest silence, and audits a refusal)."""
        reason = form.get("note", "").strip()[:500]
        try:
            hours = float(form.get("hours", ""))
        except ValueError:
            hours = 0.0
        if not reason or not 0 < hours <= settings.silence_max_hours:
            return refused(_("请填写静默时长和原因"), _("静默时长须在 0 到 {hours} 小时之间，原因必填。").format(
                hours=f"{settings.silence_max_hours:g}"), 400, who)
        now = clock()
        try:
            with session_scope(engine) as s:
                add_silence(s, directory=directory, author=who.person.id, rule=row.rule, region=row.region,
                            level=row.level, category=None, until=now + timedelta(hours=hours), reason=reason,
                            now=now, max_length=timedelta(hours=settings.silence_max_hours))
        except SilenceRefused as exc:
            return refused(_("无法设置静默"), _("{reason}（已记录在案）").format(reason=explain(exc)), 403, who)
        return RedirectResponse(f"/w/{row.id}?done=silence", status_code=303)

    @router.post("/w/{warning_id}/{action}", response_class=HTMLResponse)
    async def act(request: Request, warning_id: int, action: str) -> Response:
        """Acknowledge, comment or resolve, as the logged-in responder; then back to the warning."""
        who = viewer(request)
        if who is None:
            return to_login(request)
        form = _form(await request.body())
        if not same_token(who.session.csrf, form.get("csrf")):
            return refused(_("请求已失效"),
                           _("表单已过期或不是从本站提交的，未作任何处理。请刷新页面后重试。"), 403, who)
        with Session(engine) as s:
            row = s.get(WarningRow, warning_id)
        if row is not None and who.may_see(row) and action == "silence":
            return silence(who, row, form)
        if row is not None and who.may_see(row) and action == "handover":
            return handover_form.handover_action(engine, routing, who, row, form, clock(), refused)
        if row is None or not who.may_see(row) or action not in _ACTIONS:
            return refused(_("预警不存在"), _("没有这条预警，或它不在您的管辖范围内。"), 404, who)
        note = form.get("note", "").strip()[:2000]
        if action in ("comment", "resolve") and not note:
            return refused(_("请填写说明"), _("批注和办结都需要填写说明。请返回上一页填写后再提交。"), 400, who)
        if row.status == "resolved" and action != "comment":
            return refused(_("预警已办结"), _("这条预警已经办结，无需再处理。"), 409, who)
        func, _done = _ACTIONS[action]
        told = {"routing": routing} if action == "resolve" else {}  # a resolve tells whoever was told
        try:
            with session_scope(engine) as s:
                func(session=s, warning_id=warning_id, responder=who.person.id, directory=directory,
                     reason=note or N_("经工作台签收"), now=clock(), **told)
        except actions.JurisdictionError:
            return refused(_("无权处理"), _("该预警不在您的管辖范围内，操作已被拒绝并记录。"), 403, who)
        except actions.ActionError:
            return refused(_("无法处理"), _("这条预警当前的状态不允许此操作，请刷新页面查看最新状态。"), 409, who)
        return RedirectResponse(f"/w/{warning_id}?done={action}", status_code=303)

    # The grid's tasks (/tasks, /t/{id}): the same login, jurisdiction and CSRF token.
    router.include_router(tasks_router(engine, ctx=task_ctx,
                                       names=names, clock=clock, viewer=viewer))
    return router
