"""The workspace's field-report form (事件上报): a phone-sized page where a logged-in grid worker reports a
matter in their grid.

The form carries the session's CSRF token, like every form of the workspace, and a one-time token that
makes the report's id (:func:`integrations.grid_reports.report_id`): submitting the same form twice (a
double tap, a retry on a bad network) stores one report. The report goes through
:func:`integrations.grid_reports.submit_report` — the same path as ``fenghuo grid report``: validated,
pseudonymised, quarantined with its reason if bad, a grid outside the jurisdiction refused; all audited.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qs

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from domain.regions import RegionDirectory, Tier, is_within, tier_of
from domain.responders import Responder
from integrations.grid_reports import MATTERS, FieldReport, ReportRefused, submit_report
from integrations.i18n import _, explain
from integrations.ingest.run import load_kinds
from integrations.settings import Settings
from integrations.wording import worded
from integrations.workspace.render import page
from integrations.workspace.sessions import SessionData, same_token

__all__ = ["report_router"]

MAX_TEXT = 2000
"""The longest description the form takes (``rules/kinds.yaml`` bounds it the same)."""


class _Viewer(Protocol):
    """What the form needs of the workspace's logged-in responder."""

    session: SessionData
    person: Responder
    root: str


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _grids(root: str, names: RegionDirectory) -> list[tuple[str, str]]:
    """The named grids within ``root``, as (code, name), in code order."""
    return sorted((code, name) for code, name in names.names.items()
                  if len(code) == 15 and tier_of(code) is Tier.grid and is_within(code, root))


def report_router(
    engine: sa.Engine, settings: Settings, *, viewer: Callable[[Request], Any], regions: RegionDirectory,
    clock: Callable[[], datetime], to_login: Callable[[Request], Response],
) -> APIRouter:
    """``GET /report`` (the form) and ``POST /report`` (submit) for the viewer ``viewer(request)`` returns."""
    router = APIRouter()
    kinds = load_kinds(settings.rulebook)
    key = settings.pseudonym_key.get_secret_value()

    def form_page(who: _Viewer, *, status: int = 200, error: str = "", values: dict[str, str] | None = None,
                  token: str | None = None) -> HTMLResponse:
        return page("report.html", status=status, title=_("事件上报"), viewer=who, matters=MATTERS,
                    grids=_grids(who.root, regions), error=error, values=values or {},
                    token=token or secrets.token_urlsafe(16), max_text=MAX_TEXT)

    def message(who: _Viewer, title: str, text: str, status: int) -> HTMLResponse:
        return page("message.html", status=status, title=title, text=text, viewer=who)

    @router.get("/report", response_class=HTMLResponse)
    def report_form(request: Request) -> Response:
        """The empty form, with a fresh one-time token."""
        who = viewer(request)
        return to_login(request) if who is None else form_page(who)

    @router.post("/report", response_class=HTMLResponse)
    async def report_submit(request: Request) -> Response:
        """Store the report as the logged-in responder (CSRF-checked); say what became of it."""
        who = viewer(request)
        if who is None:
            return to_login(request)
        form = _form(await request.body())
        if not same_token(who.session.csrf, form.get("csrf")):
            return message(who, _("请求已失效"),
                           _("表单已过期或不是从本站提交的，未作任何处理。请刷新页面后重试。"), 403)
        values = {k: form.get(k, "").strip() for k in ("matter", "grid", "people", "text")}
        token = form.get("token", "")[:64] or None
        try:
            people = int(values["people"])
        except ValueError:
            return form_page(who, status=400, error=_("涉及人数请填写整数（不清楚可填 0）。"), values=values,
                             token=token)
        if not values["text"] or len(values["text"]) > MAX_TEXT:
            return form_page(who, status=400, error=_("请填写情况描述（不超过 {n} 字）。").format(n=MAX_TEXT),
                             values=values, token=token)
        report = FieldReport(matter=values["matter"], grid=values["grid"], people=people, text=values["text"],
                             at=clock())
        try:
            outcome = submit_report(engine, report, reporter=who.session.username, actor=who.person.id,
                                    node=who.root, kinds=kinds, key=key, now=clock(), via="web", token=token)
        except ReportRefused as exc:
            return message(who, _("无法上报"), explain(exc), 403)
        if outcome.status == "quarantined":
            return form_page(who, status=400, values=values, token=token,
                             error=_("上报内容未通过校验，已隔离记录：{reason}。请修改后重新提交。").format(
                                 reason=worded(outcome.reason)))
        matter = _(MATTERS[report.matter]) if report.matter in MATTERS else report.matter
        text = {"stored": _("已上报{matter}事件，编号 {id}。预警规则将据此研判。"),
                "duplicate": _("此事件已上报过（编号 {id}），未重复入库。")}[outcome.status]
        return message(who, _("上报成功"), text.format(matter=matter, id=outcome.id), 200)

    return router
