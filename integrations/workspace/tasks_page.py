"""The workspace's task pages: the logged-in responder's tasks (``/tasks``) and one task's phone-sized
page (``/t/{id}``) to accept it and finish it with an outcome and a note.

Only tasks whose node lies in the responder's subtree are shown; any other is a 404, as for warnings.
The forms carry the session's CSRF token like the warning forms. Accepting and finishing go through
:mod:`integrations.tasks` (the CLI's functions), which check the jurisdiction again and audit refusals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qs

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from domain.privacy import mask
from domain.regions import RegionDirectory, is_within
from domain.responders import Responder
from domain.tasks import KIND_CN, OUTCOME_CN, OUTCOMES, STATUS_CN
from integrations.i18n import N_, _, explain
from integrations.store.db import session_scope
from integrations.store.models import WarningRow
from integrations.store.task_models import TaskRow
from integrations.store.tasks import TaskActionError, list_tasks
from integrations.tasks import TaskContext, accept, done
from integrations.wording import worded
from integrations.workspace import present
from integrations.workspace.render import page
from integrations.workspace.sessions import SessionData, same_token

TASK_FILTERS = {"pending": N_("未办结"), "done": N_("已办结"), "all": N_("全部")}
_DONE = {"accept": N_("已接单"), "done": N_("任务已办结")}


class TaskViewer(Protocol):
    """What the task pages need of the logged-in responder (``integrations.workspace.router.Viewer``)."""

    session: SessionData
    person: Responder
    root: str


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def tasks_router(engine: sa.Engine, *, ctx: TaskContext, names: RegionDirectory, clock: Callable[[], datetime],
                 viewer: Callable[[Request], TaskViewer | None]) -> APIRouter:
    """``/tasks`` and ``/t/{id}`` (GET, and POST ``accept`` / ``done``) over the store ``engine``."""
    router = APIRouter()

    def refused(title: str, text: str, status: int, who: TaskViewer | None) -> HTMLResponse:
        return page("message.html", status=status, title=title, text=text, viewer=who)

    def view(row: TaskRow, now: datetime) -> dict[str, Any]:
        left, late = present.remaining(row.due_at, now) if row.status != "done" else ("", False)
        return {"row": row, "kind": _(KIND_CN.get(row.kind, row.kind)),
                "status": _(STATUS_CN.get(row.status, row.status)),
                "place": present.place(row.region, names), "due": present.beijing(row.due_at), "left": left,
                "late": late or row.status == "overdue", "outcome": _(OUTCOME_CN.get(row.outcome or "", "")),
                "note": mask(row.note)}

    @router.get("/tasks", response_class=HTMLResponse)
    def task_list(request: Request, status: str = "pending") -> Response:
        """The tasks of the responder's subtree, soonest due first."""
        who = viewer(request)
        if who is None:
            return RedirectResponse("/login?next=/tasks", status_code=303)
        status = status if status in TASK_FILTERS else "pending"
        now = clock()
        with Session(engine) as s:
            rows = list_tasks(session=s, status=None if status == "all" else status, within=who.root, limit=200)
        return page("tasks.html", title=_("网格任务"), viewer=who, items=[view(r, now) for r in rows],
                    current=status, filters=TASK_FILTERS, scope=present.place(who.root, names))

    @router.get("/t/{task_id}", response_class=HTMLResponse)
    def task_page(request: Request, task_id: int, done: str = "") -> Response:
        """One task: its warning in brief, where, by when; accept, and finish with an outcome and a note."""
        who = viewer(request)
        if who is None:
            return RedirectResponse(f"/login?next=/t/{task_id}", status_code=303)
        with Session(engine) as s:
            row = s.get(TaskRow, task_id)
            if row is None or not is_within(row.region, who.root):
                return refused(_("任务不存在"), _("没有这个任务，或它不在您的管辖范围内。"), 404, who)
            warning = s.get(WarningRow, row.warning_id)
        assert warning is not None
        return page("task.html", title=_("任务 #{id}").format(id=row.id), viewer=who, t=view(row, clock()), w=warning,
                    title_text=mask(worded(warning.title or warning.rule)), summary=mask(worded(warning.summary)),
                    outcomes=[(o, _(OUTCOME_CN[o])) for o in OUTCOMES], done=_(_DONE.get(done, "")))

    @router.post("/t/{task_id}/{action}", response_class=HTMLResponse)
    async def act(request: Request, task_id: int, action: str) -> Response:
        """Accept or finish the task as the logged-in responder; then back to the task."""
        who = viewer(request)
        if who is None:
            return RedirectResponse(f"/login?next=/t/{task_id}", status_code=303)
        form = _form(await request.body())
        if not same_token(who.session.csrf, form.get("csrf")):
            return refused(_("请求已失效"),
                           _("表单已过期或不是从本站提交的，未作任何处理。请刷新页面后重试。"), 403, who)
        with Session(engine) as s:
            row = s.get(TaskRow, task_id)
        if row is None or action not in _DONE:
            return refused(_("任务不存在"), _("没有这个任务。"), 404, who)
        try:
            with session_scope(engine) as s:
                if action == "accept":
                    accept(session=s, task_id=task_id, responder=who.person.id, ctx=ctx, now=clock())
                else:
                    done(session=s, task_id=task_id, responder=who.person.id, outcome=form.get("outcome", ""),
                         note=form.get("note", "").strip()[:2000], ctx=ctx, now=clock())
        except TaskActionError as exc:
            # Refused and audited by the store; the message says why and what to do.
            status = 403 if not is_within(row.region, who.root) else 409
            return refused(_("无法处理"), explain(exc), status, who)
        return RedirectResponse(f"/t/{task_id}?done={action}", status_code=303)

    return router
