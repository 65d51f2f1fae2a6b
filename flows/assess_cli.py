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

from flows.assess_cli_view import _day, _errors, _now, choice, follow_up_cmd, list_cmd, show_cmd
from flows.console import console, fail, open_engine, print_json
from integrations.i18n import N_, _
from integrations.labels import label

app = typer.Typer(help=_("社会稳定风险评估：重大决策出台前评估其风险，出台后跟踪。"),
                  no_args_is_help=True)

EVIDENCE_KINDS = N_("依据材料类别：document、public_notice、survey、hearing、visit 或 expert（评估专家）")


@app.command("new", help=_("为一项重大决策立项开展社会稳定风险评估。"))
def new_cmd(
    title: Annotated[str, typer.Argument(help=_("决策事项，例如 水井坊片区拆迁安置项目"))],
    region: Annotated[str, typer.Option(help=_("决策所在地区代码（12 位）"))],
    kind: Annotated[str, typer.Option(help=_(
            "决策类别：land_acquisition、demolition、construction_project、policy_change 或 other"))]
    = "other",
    body: Annotated[str, typer.Option(help=_("决策责任主体"))] = "",
    people: Annotated[int, typer.Option(help=_("受影响人数"))] = 0,
    investment: Annotated[float, typer.Option(help=_("投资额（元）"))] = 0.0,
    plan: Annotated[str, typer.Option(help=_("评估方案"))] = "",
    scheme: Annotated[str, typer.Option(help=_("评分方案：rules/assessment 中的名称或文件路径"))] = "default",
    keyword: Annotated[list[str] | None, typer.Option(help=_("跟踪关键词（可重复）；默认按决策类别"))] = None,
    category: Annotated[list[str] | None, typer.Option(help=_("跟踪类别（可重复）；默认按决策类别"))] = None,
) -> None:
    """Open an assessment of a major decision."""
    from domain.assessment import Decision, DecisionKind
    from integrations.store.assessments import create_assessment
    from integrations.store.db import session_scope
    from rules.assessment.schemes import load_named_scheme

    with _errors():
        decision = Decision(title=title, body=body, region=region, kind=choice(DecisionKind, kind, "--kind"),
                            affected_people=people, investment_yuan=investment)
        subject = load_named_scheme(scheme).follow_up.subjects.get(decision.kind)
        engine = open_engine()
        with session_scope(engine) as s:
            row = create_assessment(session=s, decision=decision, plan=plan, scheme=scheme, now=_now(),
                                    keywords=keyword or (subject.keywords if subject else ()),
                                    categories=category or (subject.categories if subject else ()))
    console.print(_("评估 #{id} 已立项：{title}（{kind}，{region}）。下一步：添加依据材料和风险因素。").format(
        id=row.id, title=title, kind=label("ssra_kind", kind), region=region))


@app.command("add-evidence", help=_("为评估添加依据材料（类别为 expert 时：添加一名评估专家）。"))
def add_evidence_cmd(
    assessment_id: Annotated[int, typer.Argument(help=_("评估编号"))],
    kind: Annotated[str, typer.Argument(help=_(EVIDENCE_KINDS))],
    title: Annotated[str | None, typer.Argument(help=_("标题（类别为 expert 时为专家姓名）"))] = None,
    summary: Annotated[str, typer.Option(help=_("内容摘要"))] = "",
    on: Annotated[str | None, typer.Option(help=_("举行或印发日期，YYYY-MM-DD"))] = None,
    notice_from: Annotated[str | None, typer.Option(help=_("公示：首日"))] = None,
    notice_to: Annotated[str | None, typer.Option(help=_("公示：末日（含当日）"))] = None,
    counts: Annotated[str | None, typer.Option(help=_(
            "问卷人数：非常支持、支持、中立、反对、非常反对，以逗号分隔，例如 120,260,80,60,20"))] = None,
    csv: Annotated[Path | None, typer.Option(help=_("问卷：从此 CSV 文件导入人数"))] = None,
    participants: Annotated[int | None, typer.Option(help=_("听取意见人数（听证、走访）"))] = None,
    field: Annotated[str, typer.Option(help=_("专家：专业领域"))] = "",
    affiliation: Annotated[str, typer.Option(help=_("专家：所在单位"))] = "",
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
                    fail(_("专家须有姓名：add-evidence ID expert 姓名"))
                add_expert(session=s, assessment_id=assessment_id, name=title, field=field,
                           affiliation=affiliation, now=_now())
                console.print(_("专家 {name} 已加入评估 #{id} 的专家组。").format(name=title, id=assessment_id))
                return
            if kind == "survey" and csv is not None:
                row = import_survey_csv(session=s, assessment_id=assessment_id, path=csv, title=title,
                                        summary=summary, now=_now())
            else:
                if not title:
                    fail(_("依据材料须有标题"))
                start, end = _day(notice_from, "--notice-from"), _day(notice_to, "--notice-to")
                notice = PublicNotice(start=start, end=end) if start and end else None
                if (start is None) != (end is None):
                    fail(_("公示须同时给出 --notice-from 和 --notice-to"))
                survey = None
                if counts is not None:
                    raw = counts.replace("，", ",").split(",")
                    if len(raw) != 5 or not all(p.strip().isdigit() for p in raw):
                        fail(_("--counts 须为五个数：非常支持、支持、中立、反对、非常反对的人数，以逗号分隔"))
                    survey = SurveyCounts(**dict(zip(
                        ("strongly_support", "support", "neutral", "oppose", "strongly_oppose"),
                        (int(p) for p in raw), strict=True)))
                row = add_evidence(session=s, assessment_id=assessment_id, kind=choice(EvidenceKind, kind, "KIND"),
                                   title=title,
                                   summary=summary, held_on=_day(on, "--on"), notice=notice, survey=survey,
                                   participants=participants, now=_now())
    console.print(_("{ref} 已加入评估 #{id}：{kind} {title}").format(
        ref=row.ref, id=assessment_id, kind=label("ssra_evidence", row.kind), title=row.title))


@app.command("add-factor", help=_("在风险因素清单中添加一项（或从 CSV 导入整份清单）。"))
def add_factor_cmd(
    assessment_id: Annotated[int, typer.Argument(help=_("评估编号"))],
    title: Annotated[str | None, typer.Argument(help=_("风险因素"))] = None,
    dimension: Annotated[str | None, typer.Option(help=_(
            "评估维度：legality（合法性）、rationality（合理性）、feasibility（可行性）、controllabil"
            "ity（可控性）或 safety（安全性）"))] = None,
    probability: Annotated[int | None, typer.Option("--probability", "-p", help="1-5")] = None,
    impact: Annotated[int | None, typer.Option("--impact", "-i", help="1-5")] = None,
    people: Annotated[int, typer.Option(help=_("涉及人数"))] = 0,
    mitigation: Annotated[str, typer.Option(help=_("防范化解措施"))] = "",
    residual_probability: Annotated[int | None, typer.Option("--residual-probability", "--rp")] = None,
    residual_impact: Annotated[int | None, typer.Option("--residual-impact", "--ri")] = None,
    failure: Annotated[bool, typer.Option(help=_("有硬性要求未满足（如法定审批）"))] = False,
    evidence: Annotated[list[str] | None, typer.Option(help=_("依据材料编号，例如 E2（可重复）"))] = None,
    csv: Annotated[Path | None, typer.Option(help=_("改为从此 CSV 文件导入风险因素清单"))] = None,
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
                console.print(_(
                        "已导入 {n} 项风险因素：{refs}").format(n=len(rows), refs=_("、").join(r.ref for r in rows)))
                return
            if not title or dimension is None or probability is None or impact is None:
                fail(_("风险因素须给出 TITLE、--dimension、--probability 和 --impact（或 --csv FILE）"))
            row = add_factor(session=s, assessment_id=assessment_id, title=title,
                             dimension=choice(Dimension, dimension, "--dimension"),
                             probability=probability, impact=impact, people=people, mitigation=mitigation,
                             residual_probability=residual_probability, residual_impact=residual_impact,
                             failure=failure, evidence=evidence or (), now=_now())
    console.print(_("{ref} 已添加：{title}（{dimension}，{p}×{i}）").format(
        ref=row.ref, title=title, dimension=label("ssra_dimension", dimension), p=probability, i=impact))


@app.command("score", help=_("为评估打分；必需的依据材料不全时拒绝，并说明缺少什么。"))
def score_cmd(
    assessment_id: Annotated[int, typer.Argument(help=_("评估编号"))],
    scheme: Annotated[str | None, typer.Option(help=_("改用其他评分方案（名称或路径）"))] = None,
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
    console.print(_("评估 #{id}：{before}（{score_before:g}）→ 化解后 {after}（{score_after:g}）").format(
        id=assessment_id, before=label("ssra_level", result.level_before.value),
        score_before=result.score_before, after=label("ssra_level", result.level_after.value),
        score_after=result.score_after))
    for fr in result.fired:
        console.print(_("  硬性规则 {rule}（{phase}）：至少 {level} — {refs}").format(
            rule=fr.id, phase=fr.phase, level=label("ssra_level", fr.level.value), refs=_("、").join(fr.refs)))
    console.print(_("  建议：{recommendation}").format(
        recommendation=label("ssra_recommendation", result.recommendation.value)))


@app.command("report", help=_("生成评估报告（HTML 与 Markdown）。"))
def report_cmd(
    assessment_id: Annotated[int, typer.Argument(help=_("评估编号"))],
    out: Annotated[Path | None, typer.Option(help=_("输出目录；默认 FENGHUO_HOME/reports"))] = None,
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
    console.print(_("报告已生成：{paths}").format(paths="  ".join(str(p) for p in paths)))


@app.command("decide", help=_("记录评估后集体作出的决策（由人决定）。"))
def decide_cmd(
    assessment_id: Annotated[int, typer.Argument(help=_("评估编号"))],
    outcome: Annotated[str, typer.Argument(help=_(
            "决策结果：implement（实施）、implement_after_mitigation（化解后实施）、redesign（调整方案"
            "）或 reject（不实施）"))],
    by: Annotated[str, typer.Option(help=_("集体决策的机构，例如 区政府常务会议"))],
    note: Annotated[str, typer.Option(help=_("会议纪要原文"))] = "",
    implement_from: Annotated[str | None, typer.Option(help=_("开始实施日期，YYYY-MM-DD"))] = None,
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
    console.print(_("评估 #{id}：{by} 决定{outcome}；状态：{status}。").format(
        id=assessment_id, by=by, outcome=label("ssra_outcome", outcome), status=label("assessment_status", row.status)))


app.command("follow-up", help=_("跟踪实施中的决策：关联相关信访、矛盾纠纷与预警；超过阈值时发出预警并重新启动评估。"))(
    follow_up_cmd)
app.command("list", help=_("评估列表，最新的在前。"))(list_cmd)
app.command("show", help=_(
    "一项评估的全貌：决策事项、依据材料、专家组、风险因素、风险等级、决策结果与跟踪情况。"))(show_cmd)
