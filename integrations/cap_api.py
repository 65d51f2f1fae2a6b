"""Serving CAP: the Atom feed of current alerts and each CAP message, read from the store.

``GET /cap/feed.atom`` and ``GET /cap/{identifier}.xml``. The alerts are ``Restricted`` (internal early
warnings), so every request is authenticated, and sees its own jurisdiction only:

- a responder's personal feed token (``fenghuo users feed-token USER``) in ``Authorization: Bearer …``:
  the feed holds that responder's subtree, and a warning outside it is a 404;
- the workspace's session cookie: a logged-in responder opens their feed from the inbox, same subtree;
- the operator's city-wide token ``settings.cap_feed_token`` (optional) in the same header: every warning,
  for the city's own aggregator.

Tokens travel in headers or cookies, never in a query string (it lands in logs, proxies and browser
history): ``?token=`` is refused with a 400 saying so. A browser asking for a single CAP message
(``Accept: text/html``) gets it as a readable Chinese page instead of XML.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from domain.regions import RegionDirectory, is_within
from domain.responders import ResponderDirectory
from domain.warnings import Status
from integrations.cap import CapWarning, cap_messages, render_message
from integrations.cap_feed import CAP_MEDIA_TYPE, render_atom_feed
from integrations.cap_parse import parse_cap
from integrations.i18n import N_, _
from integrations.settings import Settings
from integrations.store.models import AuditRow, WarningRow
from integrations.store.web_sessions import feed_token_user
from integrations.workspace import present
from integrations.workspace.inbox import subtree
from integrations.workspace.render import page
from integrations.workspace.viewer import responder_of, viewer_of

_IDENTIFIER = re.compile(r"^fenghuo-w(?P<id>\d+)-(?P<fp>[0-9a-zA-Z_-]{1,12})-(?P<seq>\d+)$")
FEED_LIMIT = 500
"""At most this many current warnings in the feed (most severe, newest first)."""


def load_cap_view(
    *, session: Session, warning_id: int, regions: RegionDirectory
) -> tuple[CapWarning, list[AuditRow]] | None:
    """The CAP view of a stored warning and its audit rows, or ``None`` if there is no such warning."""
    row = session.get(WarningRow, warning_id)
    if row is None:
        return None
    audits = session.exec(select(AuditRow).where(AuditRow.warning_id == warning_id)
                          .order_by(col(AuditRow.id)))
    return CapWarning.from_row(row, regions=regions), list(audits)


def load_feed_views(
    *, session: Session, regions: RegionDirectory, root: str | None = None
) -> tuple[list[CapWarning], dict[int, list[AuditRow]]]:
    """The feed's unresolved warnings (latest first, at most ``FEED_LIMIT``; only ``root``'s subtree when
    given) and each one's audit log."""
    query = select(WarningRow).where(WarningRow.status != Status.resolved.value)
    if root is not None:
        query = query.where(subtree(root))
    rows = list(session.exec(query.order_by(col(WarningRow.last_at).desc()).limit(FEED_LIMIT)))
    ids = [r.id for r in rows if r.id is not None]
    audits: dict[int, list[AuditRow]] = {i: [] for i in ids}
    for a in session.exec(select(AuditRow).where(col(AuditRow.warning_id).in_(ids)).order_by(col(AuditRow.id))):
        if a.warning_id is not None:
            audits[a.warning_id].append(a)
    return [CapWarning.from_row(r, regions=regions) for r in rows], audits


class _Refused(Exception):
    """A CAP request refused: status and the text that says what to do (a Chinese msgid, shown translated)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text

    def response(self) -> Response:
        headers = {"Cache-Control": "no-store"}
        if self.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return Response(_(self.text) + "\n", status_code=self.status, media_type="text/plain; charset=utf-8",
                        headers=headers)


_IN_URL = _Refused(400, N_("订阅令牌不能放在网址里（网址会留在日志、代理和浏览记录中）。请把令牌放在请求头 "
                           "Authorization: Bearer <令牌> 中发送，或登录工作台后从待办页打开订阅。"))
_NO_AUTH = _Refused(401, N_("需要订阅令牌：请在请求头 Authorization: Bearer <令牌> 中发送"
                            "（令牌由系统管理员用 `fenghuo users feed-token 用户名` 签发），或先登录工作台。"))
_MISSING = _Refused(404, N_("没有这条预警消息，或它不在您的管辖范围内。"))


def cap_router(
    engine: sa.Engine,
    settings: Settings,
    *,
    directory: ResponderDirectory,
    regions: RegionDirectory | None = None,
    clock: Callable[[], datetime] | None = None,
) -> APIRouter:
    """The CAP routes over the store ``engine`` for the responders of ``directory`` (see the module for
    who may read what)."""
    operator = settings.cap_feed_token
    names = regions if regions is not None else RegionDirectory.load(settings.regions)
    now_of = clock or (lambda: datetime.now(UTC))
    viewer = viewer_of(engine, settings, directory, now_of)
    router = APIRouter()

    def jurisdiction(request: Request) -> str | None:
        """The root of what the request may read (``None``: the whole city, the operator's token)."""
        if "token" in request.query_params:
            raise _IN_URL
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
            if operator is not None and hmac.compare_digest(given.encode(), operator.get_secret_value().encode()):
                return None
            with Session(engine) as s:
                username = feed_token_user(session=s, token=given)
                person = responder_of(s, username, directory) if username else None
            if person is None:
                raise _NO_AUTH
            return directory.city if directory.is_leadership(person.id) else person.node
        who = viewer(request)
        if who is None:
            raise _NO_AUTH
        return who.root

    @router.get("/cap/feed.atom")
    def feed(request: Request) -> Response:
        """The Atom feed of the unresolved warnings the request may read, each with its latest CAP message."""
        try:
            root = jurisdiction(request)
        except _Refused as refused:
            return refused.response()
        with Session(engine) as session:
            views, audits = load_feed_views(session=session, regions=names, root=root)
        body = render_atom_feed(views, now_of(), audits=audits, settings=settings)
        return Response(body, media_type="application/atom+xml; charset=utf-8",
                        headers={"Cache-Control": "no-store"})

    @router.get("/cap/{identifier}.xml")
    def message(identifier: str, request: Request) -> Response:
        """One CAP message of a warning's chain (Alert, Update or Cancel) by its identifier; a readable
        Chinese page when a browser asks for HTML."""
        try:
            root = jurisdiction(request)
            body = _message_xml(identifier, root)
        except _Refused as refused:
            return refused.response()
        if "text/html" in request.headers.get("accept", ""):
            alert = parse_cap(body.encode("utf-8"))
            return page("cap.html", title=alert.infos[0].headline if alert.infos else _("预警消息"), alert=alert,
                        viewer=viewer(request), identifier=identifier, beijing=present.beijing)
        return Response(body, media_type=f"{CAP_MEDIA_TYPE}; charset=utf-8", headers={"Cache-Control": "no-store"})

    def _message_xml(identifier: str, root: str | None) -> str:
        match = _IDENTIFIER.match(identifier)
        if not match:
            raise _MISSING
        with Session(engine) as session:
            loaded = load_cap_view(session=session, warning_id=int(match["id"]), regions=names)
        if loaded is None or (root is not None and not is_within(loaded[0].region, root)):
            raise _MISSING  # outside the jurisdiction: exactly as if it did not exist
        view, audits = loaded
        chain = cap_messages(view, audits)
        seq = int(match["seq"])
        if not 1 <= seq <= len(chain) or chain[seq - 1].identifier(view) != identifier:
            raise _MISSING
        return render_message(view, chain[seq - 1], chain[: seq - 1], settings=settings)

    return router
