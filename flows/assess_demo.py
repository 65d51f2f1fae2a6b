"""The worked example of the demo: a demolition-and-relocation project in 锦江区, assessed medium,
mitigated to low, implemented, then followed by a rise of related petitions that re-opens it.

Plain functions, no Prefect. Idempotent: seeding a store twice returns the example already there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from domain.assessment import (
    Decision,
    DecisionKind,
    DecisionOutcome,
    Dimension,
    EvidenceKind,
    PublicNotice,
    SurveyCounts,
)
from domain.assessment_scoring import score
from flows.assess_ops import follow_up_routed
from integrations.route import Routing
from integrations.store.assessment_followup import FollowUpReport
from integrations.store.assessment_models import AssessmentRow
from integrations.store.assessments import (
    add_evidence,
    add_expert,
    add_factor,
    create_assessment,
    decide,
    load_bundle,
    save_score,
)
from integrations.store.db import session_scope
from integrations.store.models import RecordRow
from rules.assessment.schemes import load_named_scheme

DEMO_TITLE = "水井坊片区棚户区改造（拆迁安置）项目"
DEMO_SOURCE = "demo-petitions"


@dataclass
class DemoAssessment:
    """What the example left in the store."""

    assessment_id: int
    level_before: str
    level_after: str
    recommendation: str
    status: str
    warning_id: int | None
    petitions: int


def _factors() -> list[dict[str, object]]:
    d = Dimension
    return [
        dict(title="补偿标准与周边房价差距引发不满", dimension=d.rationality, probability=3, impact=3, people=640,
             mitigation="第三方评估补偿标准，公布测算依据，增设产权调换选项", residual_probability=2,
             residual_impact=2, evidence=("E3", "E4")),
        dict(title="少数住户拒绝搬迁、集体上访", dimension=d.controllability, probability=3, impact=4, people=120,
             mitigation="一户一策入户沟通，设立法律咨询与矛盾调解工作站", residual_probability=2,
             residual_impact=2, evidence=("E3", "E5")),
        dict(title="老旧房屋拆除施工安全", dimension=d.safety, probability=2, impact=3, people=300,
             mitigation="专业拆除队伍、围挡与夜间禁止施工", residual_probability=1, residual_impact=3,
             evidence=("E1",)),
        dict(title="过渡安置房源不足", dimension=d.feasibility, probability=2, impact=3, people=400,
             mitigation="提前筹集过渡房源并发放临时安置补助", residual_probability=1, residual_impact=2,
             evidence=("E1", "E4")),
        dict(title="征收程序与审批文件完备性", dimension=d.legality, probability=1, impact=3,
             mitigation="法制审核，征收决定依法公告", evidence=("E1", "E2")),
    ]


def seed_demo_assessment(engine: sa.Engine, region: str = "510104000000", *, now: datetime | None = None,
                         routing: Routing | None = None) -> DemoAssessment:
    """Seed the worked example in ``region`` (a district) and run its follow-up as of ``now``.

    Timeline (relative to ``now``): opened 75 days ago, public notice 70 to 56 days ago, decided and
    implemented from 30 days ago; 7 related petitions (and 2 unrelated) in the last 6 days, which cross
    the scheme's threshold (≥ 5 petitions in 7 days) and raise an ``ssra-follow-up`` warning.
    """
    now = now or datetime.now(UTC)
    scheme = load_named_scheme("default")
    with session_scope(engine) as s:
        existing = s.exec(select(AssessmentRow).where(AssessmentRow.title == DEMO_TITLE,
                                                      AssessmentRow.region == region)).first()
    if existing is None:
        _seed(engine, region, now)
    with session_scope(engine) as s:
        row = s.exec(select(AssessmentRow).where(AssessmentRow.title == DEMO_TITLE,
                                                 AssessmentRow.region == region)).one()
    assert row.id is not None
    rep: FollowUpReport = follow_up_routed(engine, row.id, now, scheme=scheme, routing=routing)
    with session_scope(engine) as s:
        row = s.exec(select(AssessmentRow).where(AssessmentRow.id == row.id)).one()
        petitions = len(s.exec(select(RecordRow.id).where(RecordRow.source == DEMO_SOURCE)).all())
    return DemoAssessment(assessment_id=row.id or 0, level_before=row.level_before or "",
                          level_after=row.level_after or "", recommendation=row.recommendation or "",
                          status=row.status, warning_id=rep.warning_id, petitions=petitions)


def _seed(engine: sa.Engine, region: str, now: datetime) -> None:
    scheme = load_named_scheme("default")
    day0 = (now - timedelta(days=75)).date()
    subject = scheme.follow_up.subjects[DecisionKind.demolition]
    with session_scope(engine) as s:
        a = create_assessment(
            session=s, now=now - timedelta(days=75), keywords=subject.keywords, categories=subject.categories,
            decision=Decision(title=DEMO_TITLE, body="锦江区人民政府", region=region, kind=DecisionKind.demolition,
                              affected_people=1260, investment_yuan=3.8e8),
            plan="评估范围：水井坊片区 412 户；方法：公示、问卷、听证、入户走访、专家论证；周期 30 天。")
        aid = a.id
        assert aid is not None
        at = now - timedelta(days=60)
        add_evidence(session=s, assessment_id=aid, kind=EvidenceKind.document, title="片区改造规划及立项批复",
                     held_on=day0, summary="区发改局立项批复、规划许可", now=at)
        add_evidence(session=s, assessment_id=aid, kind=EvidenceKind.public_notice, title="征收补偿方案公示",
                     notice=PublicNotice(start=day0 + timedelta(5), end=day0 + timedelta(19)), now=at)
        add_evidence(session=s, assessment_id=aid, kind=EvidenceKind.survey, title="片区住户问卷调查", now=at,
                     survey=SurveyCounts(strongly_support=96, support=188, neutral=61, oppose=48, strongly_oppose=19))
        add_evidence(session=s, assessment_id=aid, kind=EvidenceKind.hearing, title="补偿方案听证会",
                     held_on=day0 + timedelta(12), participants=86, summary="主要意见集中于补偿标准与过渡期", now=at)
        add_evidence(session=s, assessment_id=aid, kind=EvidenceKind.visit, title="入户走访", participants=412,
                     held_on=day0 + timedelta(15), summary="412 户全覆盖，23 户明确表示拒绝搬迁", now=at)
        for name, fld in (("王立新", "法律"), ("陈晓梅", "社会学"), ("刘建国", "城市规划")):
            add_expert(session=s, assessment_id=aid, name=name, field=fld, affiliation="成都市社会稳定风险评估专家库",
                       now=at)
        for f in _factors():
            add_factor(session=s, assessment_id=aid, now=at, **f)  # type: ignore[arg-type]
        result = score(load_bundle(session=s, assessment_id=aid).to_input(), scheme)
        save_score(session=s, assessment_id=aid, score=result, now=now - timedelta(days=40))
        decide(session=s, assessment_id=aid, outcome=DecisionOutcome.implement_after_mitigation,
               decided_by="锦江区人民政府常务会议", note="同意在落实各项风险化解措施后实施",
               now=now - timedelta(days=32), implement_from=now - timedelta(days=30))
        grids = [f"{region[:6]}{st:03d}{c:03d}{g:03d}" for st, c, g in ((1, 1, 1), (1, 2, 1), (2, 1, 2))]
        subjects = ["拆迁安置", "征收补偿标准过低", "拆迁安置过渡费未发放", "拆迁安置", "拒绝搬迁户被断水",
                    "征收补偿不公", "拆迁安置房质量"]
        for i, text in enumerate(subjects):
            at_i = now - timedelta(days=6) + timedelta(hours=18 * i + 3)
            s.add(RecordRow(source=DEMO_SOURCE, source_id=f"ssra-{i + 1}", kind="petition", at=at_i,
                            region=grids[i % len(grids)], content_hash=f"demo{i}", received_at=at_i,
                            attributes={"subject": text, "people": 1 + i % 3, "channel": "visit"}))
        for i, text in enumerate(["物业纠纷", "医疗纠纷"]):  # in the region, but about something else
            at_i = now - timedelta(days=3, hours=i)
            s.add(RecordRow(source=DEMO_SOURCE, source_id=f"other-{i + 1}", kind="petition", at=at_i,
                            region=grids[0], content_hash=f"other{i}", received_at=at_i,
                            attributes={"subject": text, "people": 1}))


__all__ = ["DEMO_TITLE", "DemoAssessment", "seed_demo_assessment"]
