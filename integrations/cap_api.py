"""Serving CAP: the Atom feed of current alerts and each CAP message, read from the store.

``GET /cap/feed.atom`` and ``GET /cap/{identifier}.xml``. The alerts are ``Restricted`` (internal early
warnings, city-wide), so the routes exist only when ``settings.cap_feed_token`` is set, and every request
must carry it (``Authorization: Bearer …``, or ``?token=…`` for aggregators that can only fetch a URL).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from domain.regions import RegionDirectory
from domain.warnings import Status
from integrations.cap import CapWarning, cap_messages, render_message
from integrations.cap_feed import CAP_MEDIA_TYPE, render_atom_feed
from integrations.settings import Settings
from integrations.store.models import AuditRow, WarningRow

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
    *, session: Session, regions: RegionDirectory
) -> tuple[list[CapWarning], dict[int, list[AuditRow]]]:
    """The feed's unresolved warnings (latest first, at most ``FEED_LIMIT``) and each one's audit log."""
    rows = list(session.exec(
        select(WarningRow).where(WarningRow.status != Status.resolved.value)
        .order_by(col(WarningRow.last_at).desc()).limit(FEED_LIMIT)))
    ids = [r.id for r in rows if r.id is not None]
    audits: dict[int, list[AuditRow]] = {i: [] for i in ids}
    for a in session.exec(select(AuditRow).where(col(AuditRow.warning_id).in_(ids)).order_by(col(AuditRow.id))):
        if a.warning_id is not None:
            audits[a.warning_id].append(a)
    return [CapWarning.from_row(r, regions=regions) for r in rows], audits

def cap_router(
    engine: sa.Engine,
    settings: Settings,
    *,
    regions: RegionDirectory | None = None,
    clock: Callable[[], datetime] | None = None,
) -> APIRouter:
    """The CAP routes over the store ``engine`` (requires ``settings.cap_feed_token``)."""
    token = settings.cap_feed_token
    if token is None:
        raise ValueError("cap_feed_token is not set: the restricted CAP feed is not served without one")
    names = regions if regions is not None else RegionDirectory.load(settings.regions)
    now_of = clock or (lambda: datetime.now(UTC))
    router = APIRouter()

    def authorise(request: Request) -> None:
        given = request.query_params.get("token", "")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            raise HTTPException(status_code=401, detail="CAP feed token required",
                                headers={"WWW-Authenticate": "Bearer"})

    @router.get("/cap/feed.atom")
    def feed(request: Request) -> Response:
        """The Atom feed of unresolved warnings, each with its latest CAP message."""
        authorise(request)
        with Session(engine) as session:
            views, audits = load_feed_views(session=session, regions=names)
        body = render_atom_feed(views, now_of(), audits=audits, settings=settings)
        return Response(body, media_type="application/atom+xml; charset=utf-8",
                        headers={"Cache-Control": "no-store"})

    @router.get("/cap/{identifier}.xml")
    def message(identifier: str, request: Request) -> Response:
        """One CAP message of a warning's chain (Alert, Update or Cancel) by its identifier."""
        authorise(request)
        match = _IDENTIFIER.match(identifier)
        if not match:
            raise HTTPException(status_code=404, detail="no such CAP message")
        with Session(engine) as session:
            loaded = load_cap_view(session=session, warning_id=int(match["id"]), regions=names)
        if loaded is None:
            raise HTTPException(status_code=404, detail="no such CAP message")
        view, audits = loaded
        chain = cap_messages(view, audits)
        seq = int(match["seq"])
        if not 1 <= seq <= len(chain) or chain[seq - 1].identifier(view) != identifier:
            raise HTTPException(status_code=404, detail="no such CAP message")
        body = render_message(view, chain[seq - 1], chain[: seq - 1], settings=settings)
        return Response(body, media_type=f"{CAP_MEDIA_TYPE}; charset=utf-8",
                        headers={"Cache-Control": "no-store"})

    return router
