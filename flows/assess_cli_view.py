"""``fenghuo assess`` helpers and its read/follow-up commands: ``list``, ``show``, ``follow-up``.

The helpers turn user errors into one readable line (exit 1); the commands never start Prefect.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from flows.console import console, fail, open_engine, print_json
from integrations.i18n import _

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
        fail("scoring blocked, evidence missing: " + "; ".join(exc.reasons))
    except (CsvImportError, SchemeFileError) as exc:
        fail(" | ".join(exc.errors))
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg'].removeprefix('Value error, ')}"
                       for e in exc.errors()))
    except (AssessmentNotFound, AssessmentStateError, RegionCodeError, ValueError) as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{what} must be a date like 2026-03-01, got {text!r}")


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
        console.print("No assessments. `fenghuo assess new TITLE --region CODE --kind KIND` opens one.")
        return
    table = Table(title=f"{len(rows)} assessments")
    for c in ("id", "status", "kind", "region", "level", "recommendation", "title"):
        table.add_column(c)
    for r in rows:
        level = (f"[{LEVEL_STYLE.get(r.level_before or '', '')}]{r.level_before}[/] → "
                 f"[{LEVEL_STYLE.get(r.level_after or '', '')}]{r.level_after}[/]") if r.level_before else "-"
        table.add_row(str(r.id), r.status, r.kind, r.region, level, r.recommendation or "-", r.title)
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
            "evidence": [{"ref": e.ref, "kind": e.kind, "title": e.title} for e in b.evidence],
            "experts": [x.name for x in b.experts],
            "factors": [{"ref": f.ref, "title": f.title, "dimension": f.dimension, "p": f.probability,
                         "i": f.impact, "rp": f.residual_probability, "ri": f.residual_impact} for f in b.factors],
            "links": len(b.links), "missing": missing})
        return
    console.print(f"[bold]#{r.id} {r.title}[/]  ({r.status})", highlight=False)
    console.print(f"  {r.kind}, region {r.region}, {r.affected_people:,} people, ¥{r.investment_yuan:,.0f}, "
                  f"body {r.body or '-'}, scheme {r.scheme}", highlight=False)
    console.print(f"[bold]Evidence[/] ({len(b.evidence)}), panel of {len(b.experts)}")
    for e in b.evidence:
        console.print(f"  {e.ref:<4} {e.kind:<14} {e.title}", highlight=False)
    console.print(f"[bold]Factors[/] ({len(b.factors)})")
    for f in b.factors:
        res = f" → {f.residual_probability or f.probability}×{f.residual_impact or f.impact}"
        console.print(f"  {f.ref:<4} {f.dimension:<16} {f.probability}×{f.impact}{res}  {f.title}"
                      f"{'  [red]requirement not met[/]' if f.failure else ''}", highlight=False)
    if r.level_before:
        console.print(f"[bold]Level[/] {r.level_before} → {r.level_after} after mitigation; "
                      f"recommendation {r.recommendation}")
    for m in missing:
        console.print(f"  [yellow]missing:[/] {m}", highlight=False)
    if r.decision:
        console.print(f"[bold]Decision[/] {r.decision} by {r.decided_by} on {r.decided_at:%Y-%m-%d}")
    if r.implementation_from:
        console.print(f"[bold]Follow-up[/] {len(b.links)} linked items; keywords {', '.join(r.keywords) or '-'}; "
                      f"categories {', '.join(r.categories) or '-'}", highlight=False)


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
            fail("--now needs a timezone, e.g. 2026-03-01T12:00:00+08:00")
        engine = open_engine()
        if note:
            with session_scope(engine) as s:
                add_follow_up_note(session=s, assessment_id=assessment_id, note=note, actor=by, now=at)
        rep = run_follow_up(engine, assessment_id, at, route=route)
    if rep.status not in ("implementing", "reassessment"):
        console.print(f"assessment {assessment_id} is {rep.status}: follow-up starts once a decision to "
                      "implement is recorded." + (" Note recorded." if note else ""))
        return
    console.print(f"assessment {assessment_id}: linked {rep.linked_records} records and {rep.linked_warnings} "
                  f"warnings now ({rep.total_links} in all); status {rep.status}.")
    for c in rep.crossed:
        console.print(f"  threshold crossed: {c}")
    if rep.warning_id is not None:
        console.print(f"  warning {rep.warning_id} (ssra-follow-up)"
                      + ("; the assessment is re-opened for re-assessment." if rep.reopened else "."))
