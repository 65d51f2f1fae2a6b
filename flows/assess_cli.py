"""``fenghuo assess …``: social stability risk assessment (社会稳定风险评估) of a major decision.

Open an assessment, add evidence (documents, public notice, surveys — typed or from CSV —, hearings,
visits, experts) and risk factors (typed or from CSV), score it with a scheme, write the report, record
the collective decision and follow it up. Commands call plain functions and never start Prefect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from flows.assess_cli_view import _day, _errors, _now, follow_up_cmd, list_cmd, show_cmd
from flows.console import console, fail, open_engine, print_json

app = typer.Typer(help="社会稳定风险评估: assess a major decision before it is taken, then follow it up.",
                  no_args_is_help=True)

EVIDENCE_KINDS = "document, public_notice, survey, hearing, visit, or expert (a panel member)"


@app.command("new")
def new_cmd(
    title: Annotated[str, typer.Argument(help="the decision, e.g. 水井坊片区拆迁安置项目")],
    region: Annotated[str, typer.Option(help="region code of the decision (12 digits)")],
    kind: Annotated[str, typer.Option(help="land_acquisition, demolition, construction_project, policy_change, other")]
    = "other",
    body: Annotated[str, typer.Option(help="the body responsible for the decision")] = "",
    people: Annotated[int, typer.Option(help="people affected")] = 0,
    investment: Annotated[float, typer.Option(help="investment in yuan")] = 0.0,
    plan: Annotated[str, typer.Option(help="the assessment plan")] = "",
    scheme: Annotated[str, typer.Option(help="scoring scheme: a name in rules/assessment or a path")] = "default",
    keyword: Annotated[list[str] | None, typer.Option(help="follow-up keyword (repeat); default by kind")] = None,
    category: Annotated[list[str] | None, typer.Option(help="follow-up category (repeat); default by kind")] = None,
) -> None:
    """Open an assessment of a major decision."""
    from domain.assessment import Decision, DecisionKind
    from integrations.store.assessments import create_assessment
    from integrations.store.db import session_scope
    from rules.assessment.schemes import load_named_scheme

    with _errors():
        decision = Decision(title=title, body=body, region=region, kind=DecisionKind(kind),
                            affected_people=people, investment_yuan=investment)
        subject = load_named_scheme(scheme).follow_up.subjects.get(decision.kind)
        engine = open_engine()
        with session_scope(engine) as s:
            row = create_assessment(session=s, decision=decision, plan=plan, scheme=scheme, now=_now(),
                                    keywords=keyword or (subject.keywords if subject else ()),
                                    categories=category or (subject.categories if subject else ()))
    console.print(f"assessment {row.id} opened: {title} ({kind}, {region}). Next: add evidence and factors.")


@app.command("add-evidence")
def add_evidence_cmd(
    assessment_id: Annotated[int, typer.Argument(help="the assessment's id")],
    kind: Annotated[str, typer.Argument(help=EVIDENCE_KINDS)],
    title: Annotated[str | None, typer.Argument(help="title (an expert's name for kind expert)")] = None,
    summary: Annotated[str, typer.Option(help="what it says")] = "",
    on: Annotated[str | None, typer.Option(help="date held or issued, YYYY-MM-DD")] = None,
    notice_from: Annotated[str | None, typer.Option(help="public notice: first day")] = None,
    notice_to: Annotated[str | None, typer.Option(help="public notice: last day (included)")] = None,
    counts: Annotated[str | None, typer.Option(help="survey counts: strongly support,support,neutral,"
                                                    "oppose,strongly oppose, e.g. 120,260,80,60,20")] = None,
    csv: Annotated[Path | None, typer.Option(help="survey: import the counts from this CSV")] = None,
    participants: Annotated[int | None, typer.Option(help="people heard (hearing, visit)")] = None,
    field: Annotated[str, typer.Option(help="expert: field of expertise")] = "",
    affiliation: Annotated[str, typer.Option(help="expert: affiliation")] = "",
) -> None:
    """Add evidence to an assessment (or, with kind ``expert``, a member of its panel)."""
    from domain.assessment import EvidenceKind, PublicNotice, SurveyCounts
    from integrations.store.assessment_csv import import_survey_csv
    from integrations.store.assessments import add_evidence, add_expert
    from integrations.store.db import session_scope

    with _errors():
        engine = open_engine()
        with session_scope(engine) as s:
            if kind == "expert":
                if not title:
                    fail("an expert needs a name: add-evidence ID expert NAME")
                add_expert(session=s, assessment_id=assessment_id, name=title, field=field,
                           affiliation=affiliation, now=_now())
                console.print(f"expert {title} added to the panel of assessment {assessment_id}.")
                return
            if kind == "survey" and csv is not None:
                row = import_survey_csv(session=s, assessment_id=assessment_id, path=csv, title=title,
                                        summary=summary, now=_now())
            else:
                if not title:
                    fail("evidence needs a title")
                start, end = _day(notice_from, "--notice-from"), _day(notice_to, "--notice-to")
                notice = PublicNotice(start=start, end=end) if start and end else None
                if (start is None) != (end is None):
                    fail("a public notice needs both --notice-from and --notice-to")
                survey = None
                if counts is not None:
                    raw = counts.replace("，", ",").split(",")
                    if len(raw) != 5 or not all(p.strip().isdigit() for p in raw):
                        fail("--counts needs five numbers: strongly support,support,neutral,oppose,strongly oppose")
                    survey = SurveyCounts(**dict(zip(
                        ("strongly_support", "support", "neutral", "oppose", "strongly_oppose"),
                        (int(p) for p in raw), strict=True)))
                row = add_evidence(session=s, assessment_id=assessment_id, kind=EvidenceKind(kind), title=title,
                                   summary=summary, held_on=_day(on, "--on"), notice=notice, survey=survey,
                                   participants=participants, now=_now())
    console.print(f"{row.ref} added to assessment {assessment_id}: {row.kind} {row.title}")


@app.command("add-factor")
def add_factor_cmd(
    assessment_id: Annotated[int, typer.Argument(help="the assessment's id")],
    title: Annotated[str | None, typer.Argument(help="the risk factor")] = None,
    dimension: Annotated[str | None, typer.Option(help="legality, rationality, feasibility, controllability, "
                                                       "safety")] = None,
    probability: Annotated[int | None, typer.Option("--probability", "-p", help="1-5")] = None,
    impact: Annotated[int | None, typer.Option("--impact", "-i", help="1-5")] = None,
    people: Annotated[int, typer.Option(help="people involved")] = 0,
    mitigation: Annotated[str, typer.Option(help="the mitigation measure")] = "",
    residual_probability: Annotated[int | None, typer.Option("--residual-probability", "--rp")] = None,
    residual_impact: Annotated[int | None, typer.Option("--residual-impact", "--ri")] = None,
    failure: Annotated[bool, typer.Option(help="a requirement is not met (e.g. a legal approval)")] = False,
    evidence: Annotated[list[str] | None, typer.Option(help="evidence reference, e.g. E2 (repeat)")] = None,
    csv: Annotated[Path | None, typer.Option(help="import a factor register from this CSV instead")] = None,
) -> None:
    """Add a risk factor to the register (or import a register from CSV)."""
    from domain.assessment import Dimension
    from integrations.store.assessment_csv import import_factors_csv
    from integrations.store.assessments import add_factor
    from integrations.store.db import session_scope

    with _errors():
        engine = open_engine()
        with session_scope(engine) as s:
            if csv is not None:
                rows = import_factors_csv(session=s, assessment_id=assessment_id, path=csv, now=_now())
                console.print(f"{len(rows)} factors imported: {', '.join(r.ref for r in rows)}")
                return
            if not title or dimension is None or probability is None or impact is None:
                fail("a factor needs TITLE, --dimension, --probability and --impact (or --csv FILE)")
            row = add_factor(session=s, assessment_id=assessment_id, title=title, dimension=Dimension(dimension),
                             probability=probability, impact=impact, people=people, mitigation=mitigation,
                             residual_probability=residual_probability, residual_impact=residual_impact,
                             failure=failure, evidence=evidence or (), now=_now())
    console.print(f"{row.ref} added: {title} ({dimension}, {probability}×{impact})")


@app.command("score")
def score_cmd(
    assessment_id: Annotated[int, typer.Argument(help="the assessment's id")],
    scheme: Annotated[str | None, typer.Option(help="another scheme than the assessment's (name or path)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score an assessment; refused, saying what is missing, while required evidence is missing."""
    from flows.assess_ops import scheme_for, score_assessment

    with _errors():
        engine = open_engine()
        result = score_assessment(engine, assessment_id, scheme_for(engine, assessment_id, scheme), _now())
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    console.print(f"assessment {assessment_id}: {result.level_before.chinese} {result.level_before.value} "
                  f"({result.score_before:g}) → after mitigation {result.level_after.chinese} "
                  f"{result.level_after.value} ({result.score_after:g})")
    for fr in result.fired:
        console.print(f"  hard rule {fr.id} ({fr.phase}): at least {fr.level.value} — {', '.join(fr.refs)}")
    console.print(f"  recommendation: {result.recommendation.chinese} ({result.recommendation.value})")


@app.command("report")
def report_cmd(
    assessment_id: Annotated[int, typer.Argument(help="the assessment's id")],
    out: Annotated[Path | None, typer.Option(help="folder; default FENGHUO_HOME/reports")] = None,
) -> None:
    """Write the assessment report as HTML and Markdown."""
    from domain.regions import RegionDirectory
    from flows.assess_ops import scheme_for, write_reports
    from integrations.settings import get_settings

    settings = get_settings()
    with _errors():
        engine = open_engine()
        paths = write_reports(engine, assessment_id, out or settings.home / "reports",
                              scheme=scheme_for(engine, assessment_id), names=RegionDirectory.load(settings.regions))
    console.print("report written: " + "  ".join(str(p) for p in paths))


@app.command("decide")
def decide_cmd(
    assessment_id: Annotated[int, typer.Argument(help="the assessment's id")],
    outcome: Annotated[str, typer.Argument(help="implement, implement_after_mitigation, redesign or reject")],
    by: Annotated[str, typer.Option(help="who decided collectively, e.g. 区政府常务会议")],
    note: Annotated[str, typer.Option(help="the minutes' words")] = "",
    implement_from: Annotated[str | None, typer.Option(help="implementation starts, YYYY-MM-DD")] = None,
) -> None:
    """Record the collective decision taken after the assessment (humans decide)."""
    from domain.assessment import DecisionOutcome
    from integrations.store.assessments import decide
    from integrations.store.db import session_scope

    with _errors():
        start = _day(implement_from, "--implement-from")
        engine = open_engine()
        with session_scope(engine) as s:
            row = decide(session=s, assessment_id=assessment_id, outcome=DecisionOutcome(outcome), decided_by=by,
                         note=note, now=_now(),
                         implement_from=datetime(start.year, start.month, start.day, tzinfo=UTC) if start else None)
    console.print(f"assessment {assessment_id}: decided {outcome} by {by}; status {row.status}.")


app.command("follow-up")(follow_up_cmd)
app.command("list")(list_cmd)
app.command("show")(show_cmd)
