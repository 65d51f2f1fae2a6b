"""Field reports (事件上报): what a grid worker saw becomes a ``grid_report`` record, through the same path
as any department's records.

A report names the matter (one of :data:`MATTERS`), the grid where it is (15 digits, within the reporter's
jurisdiction), how many people are involved and a description. :func:`submit_report` checks the place
against the reporter's node (a refusal is audited), then stores the report with
:func:`integrations.records_io.import_items` as if the source ``grid-reports`` had delivered it: validated
against ``rules/kinds.yaml`` (a bad report is quarantined with its reason), the reporter pseudonymised,
ID-card and phone numbers in the description masked, upserted by (source, id). The id is stable — a token
the web form carries, else a hash of the reporter, place, matter, text and the Beijing day — so a resend
stores nothing new. Every submission is audited. The source's watermark is left alone: people report now
and then, and a quiet source must not hold live evaluation back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.beijing import BEIJING
from domain.kinds import RecordKinds
from domain.messages import N_, Message
from domain.privacy import pseudonym
from domain.regions import RegionCodeError, Tier, is_within, tier_of
from integrations.records_io import import_items
from integrations.sources.mapping import SourceConfig
from integrations.store.audit import append_audit
from integrations.store.db import session_scope
from integrations.store.models import QuarantineRow
from integrations.store.records import record_versions

__all__ = ["CONFIG", "MATTERS", "SOURCE", "FieldReport", "ReportOutcome", "ReportRefused", "report_id",
           "submit_report"]

SOURCE = "grid-reports"
"""The source id of field reports (``Record.source``)."""

MATTERS = {
    "dispute": N_("矛盾纠纷"),
    "petition_risk": N_("信访苗头"),
    "safety_hazard": N_("安全隐患"),
    "gathering": N_("群体聚集"),
    "care_need": N_("关爱需求"),
    "other": N_("其他"),
}
"""The matters a grid worker may report, as ``rules/kinds.yaml`` declares them, with their Chinese names
(msgids: ``_()`` them where shown)."""

CONFIG = SourceConfig(
    name=SOURCE,
    kind="grid_report",
    path="",
    fields={f: f for f in ("matter", "people", "description", "reporter")},
    required=("matter", "reporter"),
    free_text=("description",),
    personal_raw=("reporter",),
)
"""The source configuration of field reports: items arrive in the record shape."""


@dataclass(frozen=True)
class FieldReport:
    """What a grid worker reports (not yet validated: the ingest does that)."""

    matter: str
    grid: str
    people: int
    text: str
    at: datetime
    """When the matter was seen (timezone-aware)."""


class ReportRefused(Exception):
    """A report refused before it reaches the ingest: a place that is no grid, or not the reporter's.
    The message is Chinese and says what to do; ``code`` is ``bad_grid`` or ``outside_jurisdiction``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ReportOutcome:
    """What became of a report: ``stored``, ``duplicate`` (a resend: nothing new) or ``quarantined``."""

    status: Literal["stored", "duplicate", "quarantined"]
    id: str
    reason: str = ""
    """Why it was quarantined (the ingest's reason)."""


def report_id(*, reporter: str, report: FieldReport, key: str | bytes, token: str | None = None) -> str:
    """The report's stable id: from the form's ``token`` if given, else from the reporter, place, matter,
    people, text and Beijing day (the same report sent twice the same day is one report)."""
    who = pseudonym(reporter, key)
    if token:
        basis: list[object] = [who, token]
    else:
        day = report.at.astimezone(BEIJING).date().isoformat()
        basis = [who, report.grid, report.matter, report.people, report.text, day]
    digest = hashlib.sha256(json.dumps(basis, ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"gr-{digest[:20]}"


def _check_place(grid: str, node: str) -> None:
    try:
        is_grid = tier_of(grid) is Tier.grid
    except RegionCodeError:
        is_grid = False
    if not is_grid:
        raise ReportRefused("bad_grid", Message(N_("地点 {grid!r} 不是网格编码；"
                                                    "请填写 15 位网格编码（如 510104001001002）"),
                                                 grid=grid))
    if not is_within(grid, node):
        raise ReportRefused("outside_jurisdiction",
                            Message(N_("网格 {grid} 不在您的管辖范围（{node}）内，已拒绝并记录；"
                                       "请上报本人负责网格内的事件"),
                                    grid=grid, node=node))


def _quarantine_reason(session: Session, rid: str) -> str:
    q = (select(QuarantineRow.reason).where(QuarantineRow.source == SOURCE, QuarantineRow.source_id == rid)
         .order_by(col(QuarantineRow.id).desc()))
    return session.exec(q).first() or ""


def submit_report(
    engine: sa.Engine,
    report: FieldReport,
    *,
    reporter: str,
    actor: str,
    node: str,
    kinds: RecordKinds,
    key: str | bytes,
    now: datetime,
    via: str,
    token: str | None = None,
    known_regions: Container[str] | None = None,
) -> ReportOutcome:
    """Store one field report by ``reporter`` (their username; pseudonymised in the record), acting as the
    responder ``actor`` whose jurisdiction is ``node``; ``via`` (``cli`` or ``web``) is audited.

    Raises :class:`ReportRefused` (after auditing the refusal) for a place that is no grid or not within
    ``node``; a report the kind refuses is quarantined, not raised.
    """
    detail: dict[str, object] = {"grid": report.grid, "matter": report.matter, "people": report.people, "via": via}
    try:
        _check_place(report.grid, node)
    except ReportRefused as exc:
        with session_scope(engine) as s:
            append_audit(session=s, warning_id=None, actor=actor, action="grid_report_refused", reason=exc.code,
                         at=now, detail={**detail, "node": node})
        raise
    rid = report_id(reporter=reporter, report=report, key=key, token=token)
    with Session(engine) as s:
        known = bool(record_versions(session=s, source=SOURCE, source_id=rid))
    if known:
        outcome = ReportOutcome("duplicate", rid)
    else:
        item = {"kind": "grid_report", "id": rid, "at": report.at.isoformat(), "region": report.grid,
                "matter": report.matter, "people": report.people, "description": report.text,
                "reporter": reporter}
        result = import_items(engine, CONFIG, [item], kinds=kinds, key=key, now=now,
                              known_regions=known_regions, note_watermark=False)
        if result.quarantined:
            with Session(engine) as s:
                outcome = ReportOutcome("quarantined", rid, _quarantine_reason(s, rid))
        else:
            outcome = ReportOutcome("stored" if result.accepted else "duplicate", rid)
    with session_scope(engine) as s:
        append_audit(session=s, warning_id=None, actor=actor, action="grid_report", reason=outcome.status, at=now,
                     detail={**detail, "id": rid, "quarantine_reason": outcome.reason})
    return outcome
