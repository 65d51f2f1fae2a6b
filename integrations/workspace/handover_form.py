"""The warning page's "hand over to a node below" (移交给下级): which nodes to offer, and the form's action.

The page offers the form only to the holder, listing by name the nodes they may hand to
(:func:`integrations.handover.handover_choices`); posting calls :func:`integrations.handover.hand_over`,
the same function as ``fenghuo warnings handover``, which checks again and audits a refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from domain.regions import RegionDirectory
from integrations.handover import hand_over, handover_choices
from integrations.i18n import _
from integrations.notify.render import action_links
from integrations.route import Routing
from integrations.settings import Settings
from integrations.store import actions
from integrations.store.db import session_scope
from integrations.store.models import WarningRow
from integrations.tasks import TaskContext
from integrations.workspace import present
from integrations.workspace.viewer import Viewer

Refuse = Callable[[str, str, int, Viewer], HTMLResponse]


def workspace_routing(settings: Settings, ctx: TaskContext) -> Routing:
    """How the workspace routes a hand-over: the policy, directories and templates it loaded, and the
    signed one-click links when the settings turn them on."""
    links = (lambda wid, who, now: action_links(wid, who, now, settings)) if settings.action_links else None
    return Routing(policy=ctx.policy, directory=ctx.directory, regions=ctx.regions, links=links,
                   templates=ctx.templates)


def choices(session: Session, row: WarningRow, who: Viewer, routing: Routing,
            names: RegionDirectory) -> list[tuple[str, str]]:
    """(code, name) of each node the viewer may hand ``row`` to; empty: the page shows no form."""
    return [(code, present.place(code, names))
            for code in handover_choices(session, row, who.person, routing.directory)]


def handover_action(engine: sa.Engine, routing: Routing, who: Viewer, row: WarningRow, form: dict[str, str],
                    now: datetime, refused: Refuse) -> Response:
    """Hand ``row`` over as the form says, then back to the warning (or a Chinese refusal)."""
    note, target = form.get("note", "").strip()[:2000], form.get("to", "").strip()[:15]
    if not note or not target:
        return refused(_("请选择节点并填写说明"),
                       _("移交需要选择下级节点，并写明移交原因和需要下级做什么。请返回上一页填写。"), 400, who)
    assert row.id is not None
    try:
        with session_scope(engine) as s:
            hand_over(session=s, warning_id=row.id, responder=who.person.id, to=target, note=note,
                      routing=routing, now=now)
    except actions.JurisdictionError:
        return refused(_("无法移交"), _("只有当前负责节点的人员可以移交，且只能移交给本级以下、"
                       "包含预警发生地且有处置人员的节点。操作已被拒绝并记录；请刷新页面查看最新状态。"), 403, who)
    except actions.ActionError:
        return refused(_("无法移交"), _("这条预警当前的状态不允许移交，请刷新页面查看最新状态。"), 409, who)
    return RedirectResponse(f"/w/{row.id}?done=handover", status_code=303)
