"""``fenghuo assess`` helpers and its read/follow-up commands: ``list``, ``show``, ``follow-up``.

The helpers turn user errors into one readable line (exit 1); the commands never start Prefect.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from domain.validation_messages import validation_messages
from flows.console import console, fail, open_engine, print_json
from integrations.i18n import _, explain, translate
from integrations.labels import label
from integrations.wording import worded

E = TypeVar("E", bound=Enum)

OPTIONS = {
    "title": "TITLE", "body": "--body", "region": "--region", "affected_people": "--people", "kind": "--kind",
    "investment_yuan": "--investment", "summary": "--summary", "on": "--on", "participants": "--participants",
    "notice": "--notice-from/--notice-to", "survey": "--counts", "name": "TITLE", "field": "--field",
    "affiliation": "--affiliation", "dimension": "--dimension", "probability": "--probability",
    "impact": "--impact", "people": "--people", "mitigation": "--mitigation",
    "residual_probability": "--residual-probability", "residual_impact": "--residual-impact",
    "evidence": "--evidence", "decided_by": "--by", "note": "--note", "implement_from": "--implement-from",
}
"""The assessment models' fields by the option (or argument) of ``fenghuo assess`` that gives them, so a
refusal names what the user typed."""

LEVEL_STYLE = {"high": "bold red", "medium": "bold dark_orange", "low": "bold green"}


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the errors a user can cause into one readable line and exit 1."""
    from domain.assessment import AssessmentIncomplete
    from domain.regions import RegionCodeError
    from integrations.store.assessment_csv import CsvImportError
    from integrations.store.assessments import AssessmentNotFound, AssessmentStateError
    from rules.assessment.schemes import SchemeFileError

    try:
        yield
    except AssessmentIncomplete as exc:
        fail(_("无法评分，缺少依据材料：{reasons}").format(reasons=_("；").join(translate(r) for r in exc.reasons)))
    except (CsvImportError, SchemeFileError) as exc:
        fail(" | ".join(translate(e) for e in exc.errors))
    except ValidationError as exc:  # pydantic's English never reaches the user: each error named in the catalogue
        fail(_("；").join(translate(m) for m in validation_messages(exc, names=OPTIONS)))
    except (AssessmentNotFound, AssessmentStateError, RegionCodeError, ValueError) as exc:
        said = explain(exc)
        fail(said.splitlines()[0] if said else type(exc).__name__)


def choice(kind: type[E], value: str, option: str) -> E:
    """``value`` as a member of the enumeration ``kind``, or one line naming ``option`` and what it takes."""
    try:
        return kind(value)
    except ValueError:
        fail(_("{field} 须为 {allowed} 之一；得到 {value}").format(
            field=option, allowed=", ".join(str(m.value) for m in kind), value=repr(value)))


def _day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(_("{what} 须为日期，如 2026-03-01；收到的是 {text}").format(what=what, text=repr(text)))


def _summary(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in (
        "id", "title", "kind", "region", "status", "level_before", "level_after", "recommendation", "decision",
        "decided_by", "decided_at", "implementation_from", "reopened_at", "scheme", "keywords", "categories")}


def list_cmd(
    status: Annotated[str | None, typer.Option(help=_(
            "评估状态：draft、scored、decided、implementing、reassessment 或 closed"))]
    = None,
    region: Annotated[str | None, typer.Option(help=_("只列出该地区及其下级的评估"))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("输出 JSON lines，供脚本使用"))] = False,
) -> None:
    """Assessments, newest first."""
    from rich.table import Table

    from integrations.store.assessments import list_assessments
    from integrations.store.db import session_scope

    with _errors():
        engine = open_engine()
        with session_scope(engine) as s:
            rows = list_assessments(session=s, status=status, within=region)
    if as_json:
        for r in rows:
            print_json(_summary(r))
        return
    if not rows:
        console.print(_("没有评估。用 `fenghuo assess new TITLE --region CODE --kind KIND` 立项。"))
        return
    table = Table(title=_("{n} 项评估").format(n=len(rows)))
    for c in (_("编号"), _("状态"), _("类别"), _("地区"), _("风险等级"), _("建议"), _("决策事项")):
        table.add_column(c)
    for r in rows:
        level = (f"[{LEVEL_STYLE.get(r.level_before or '', '')}]{label('ssra_level', r.level_before)}[/] → "
                 f"[{LEVEL_STYLE.get(r.level_after or '', '')}]{label('ssra_level', r.level_after or '')}[/]"
                 ) if r.level_before else "-"
        table.add_row(str(r.id), label("assessment_status", r.status), label("ssra_kind", r.kind), r.region,
                      level, label("ssra_recommendation", r.recommendation) if r.recommendation else "-", r.title)
    console.print(table)


def show_cmd(
    assessment_id: Annotated[int, typer.Argument(help=_("评估编号"))],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One assessment: the decision, evidence, panel, factors, level, decision and follow-up."""
    from flows.assess_ops import bundle, check_evidence, scheme_for

    with _errors():
        engine = open_engine()
        b = bundle(engine, assessment_id)
        missing = check_evidence(engine, assessment_id, scheme_for(engine, assessment_id)) \
            if b.row.scored_at is None else []
    r = b.row
    if as_json:
        print_json(_summary(r) | {
            "evidence": [{"ref": e.ref, "kind": e.kind, "title": worded(e.title)} for e in b.evidence],
            "experts": [x.name for x in b.experts],
            "factors": [{"ref": f.ref, "title": f.title, "dimension": f.dimension, "p": f.probability,
                         "i": f.impact, "rp": f.residual_probability, "ri": f.residual_impact} for f in b.factors],
            "links": len(b.links), "missing": missing})
        return
    console.print(f"[bold]#{r.id} {r.title}[/]  ({label('assessment_status', r.status)})", highlight=False)
    console.print(_(
            "  {kind}，地区 {region}，涉及 {people:,} 人，投资 ¥{yuan:,.0f}，责任主体 {body}，评分方案"
            " {scheme}").format(
        kind=label("ssra_kind", r.kind), region=r.region, people=r.affected_people, yuan=r.investment_yuan,
        body=r.body or "-", scheme=r.scheme), highlight=False)
    console.print(_(
            "[bold]依据材料[/]（{n} 份），专家组 {experts} 人").format(n=len(b.evidence), experts=len(b.experts)))
    for e in b.evidence:
        console.print(f"  {e.ref:<4} {label('ssra_evidence', e.kind):<8} {worded(e.title)}", highlight=False)
    console.print(_("[bold]风险因素[/]（{n} 项）").format(n=len(b.factors)))
    for f in b.factors:
        res = f" → {f.residual_probability or f.probability}×{f.residual_impact or f.impact}"
        unmet = "  [red]" + _("硬性要求未满足") + "[/]" if f.failure else ""
        console.print(f"  {f.ref:<4} {label('ssra_dimension', f.dimension):<6} {f.probability}×{f.impact}{res}"
                      f"  {f.title}{unmet}", highlight=False)
    if r.level_before:
        console.print(_("[bold]风险等级[/] {before} → 化解后 {after}；建议：{recommendation}").format(
            before=label("ssra_level", r.level_before), after=label("ssra_level", r.level_after or ""),
            recommendation=label("ssra_recommendation", r.recommendation or "")))
    for m in missing:
        console.print("  [yellow]" + _("缺少：") + f"[/]{m}", highlight=False)
    if r.decision:
        console.print(_("[bold]决策[/] {by} 于 {day} 决定{outcome}").format(
            by=r.decided_by, day=f"{r.decided_at:%Y-%m-%d}", outcome=label("ssra_outcome", r.decision)))
    if r.implementation_from:
        console.print(_("[bold]跟踪[/] 已关联 {n} 项；关键词 {keywords}；类别 {categories}").format(
            n=len(b.links), keywords=_("、").join(r.keywords) or "-", categories=_("、").join(r.categories) or "-"),
            highlight=False)


def follow_up_cmd(
    assessment_id: Annotated[int, typer.Argument(help=_("评估编号"))],
    note: Annotated[str | None, typer.Option(help=_("同时记录一条跟踪情况"))] = None,
    by: Annotated[str, typer.Option(help=_("记录人"))] = "assessment office",
    now: Annotated[str | None, typer.Option(help=_("以此时刻（ISO 格式）为准评估（默认：现在）"))] = None,
    route: Annotated[bool, typer.Option(help=_("将跟踪预警派发给责任人（进入发件箱）"))] = True,
) -> None:
    """Follow up a decision being implemented: link related petitions, disputes and warnings; warn and
    re-open the assessment when a threshold is crossed."""
    from flows.assess_ops import run_follow_up
    from integrations.store.assessments import add_follow_up_note
    from integrations.store.db import session_scope

    with _errors():
        at = datetime.fromisoformat(now) if now else _now()
        if at.tzinfo is None:
            fail(_("--now 须带时区，例如 2026-03-01T12:00:00+08:00"))
        engine = open_engine()
        if note:
            with session_scope(engine) as s:
                add_follow_up_note(session=s, assessment_id=assessment_id, note=note, actor=by, now=at)
        rep = run_follow_up(engine, assessment_id, at, route=route)
    if rep.status not in ("implementing", "reassessment"):
        console.print(_("评估 #{id} 状态为{status}：记录实施决策后才开始跟踪。").format(
            id=assessment_id, status=label("assessment_status", rep.status)) + (_("跟踪情况已记录。") if note else ""))
        return
    console.print(_(
            "评估 #{id}：本次关联 {records} 条记录、{warnings} 条预警（累计 {total} 项）；状态：{stat"
            "us}。").format(
        id=assessment_id, records=rep.linked_records, warnings=rep.linked_warnings, total=rep.total_links,
        status=label("assessment_status", rep.status)))
    for c in rep.crossed:
        console.print(_("  超过阈值：{what}").format(what=translate(c)))
    if rep.warning_id is not None:
        console.print(_("  预警 #{id}（ssra-follow-up）").format(id=rep.warning_id)
                      + (_("；评估已重新启动。") if rep.reopened else _("。")))
