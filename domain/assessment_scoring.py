"""Scoring an assessment with a scheme: evidence check, factor scores, dimensions, hard rules, level.

Scoring is refused (:class:`AssessmentIncomplete`) while evidence the scheme requires is missing; it never
yields a level silently. Otherwise each factor scores probability × impact × its dimension's weight,
before and after mitigation; the scheme combines them (the worst, or the sum) and its cut-offs give a
level, which hard rules may only raise. Mitigation never raises a level: residuals cannot exceed the
originals, and a hard rule that holds after mitigation also holds before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.assessment import (
    AssessmentIncomplete,
    AssessmentInput,
    Decision,
    Dimension,
    EvidenceKind,
    Recommendation,
    RiskFactor,
    RiskLevel,
    SurveyCounts,
    recommend,
)
from domain.assessment_scheme import HardRule, Scheme
from domain.messages import N_, Message
from domain.regions import tier_of


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class FactorScore(_Out):
    """One factor's scores before and after mitigation."""

    ref: str
    dimension: Dimension
    raw: int
    weighted: float
    residual_raw: int
    residual_weighted: float


class DimensionFinding(_Out):
    """A dimension's combined score before and after mitigation, its factors and its failures."""

    dimension: Dimension
    weight: float
    factors: tuple[str, ...]
    before: float
    after: float
    failures: tuple[str, ...]


class FiredRule(_Out):
    """A hard rule that held, the phase it held in and the items that made it hold."""

    id: str
    level: RiskLevel
    phase: Literal["before", "after"]
    message: str
    refs: tuple[str, ...]


class Score(_Out):
    """The outcome of scoring: what the report shows and the store keeps."""

    scheme: str
    scheme_version: int
    combine: str
    score_before: float
    score_after: float
    level_by_score_before: RiskLevel
    level_by_score_after: RiskLevel
    level_before: RiskLevel
    level_after: RiskLevel
    recommendation: Recommendation
    factors: tuple[FactorScore, ...]
    dimensions: tuple[DimensionFinding, ...]
    fired: tuple[FiredRule, ...]
    panel_required: int
    cutoff_medium: float
    cutoff_high: float


def required_panel_size(decision: Decision, scheme: Scheme) -> int:
    """Experts the panel needs: the larger of the size by investment and the size by the region's tier."""
    rule = scheme.requirements.panel
    by_money = next(b.experts for b in rule.by_investment
                    if b.below_yuan is None or decision.investment_yuan < b.below_yuan)
    by_tier = rule.by_tier.get(tier_of(decision.region).value, 0)
    return max(by_money, by_tier)


def missing_evidence(inp: AssessmentInput, scheme: Scheme) -> list[str]:
    """Every reason the scheme refuses to score ``inp``, in words the office can act on (empty: complete)."""
    req = scheme.requirements
    reasons: list[str] = []
    notices = [e for e in inp.of_kind(EvidenceKind.public_notice)]
    if req.public_notice.required:
        dated = [e for e in notices if e.notice is not None]
        if not notices:
            reasons.append(Message(N_("没有公示：评估方案要求至少 {days} 天的公示"), days=req.public_notice.min_days))
        elif not dated:
            refs = ", ".join(e.ref for e in notices)
            reasons.append(Message(N_("公示 {refs} 没有起止日期"), refs=refs))
        else:
            longest = max(dated, key=lambda e: e.notice.days if e.notice else 0)
            days = longest.notice.days if longest.notice else 0
            if days < req.public_notice.min_days:
                reasons.append(Message(N_("公示 {ref} 只持续了 {days} 天；评估方案要求至少 {min_days} 天"),
                                       ref=longest.ref, days=days, min_days=req.public_notice.min_days))
    surveys = inp.of_kind(EvidenceKind.survey)
    for e in surveys:
        total = e.survey.total if e.survey else 0
        if e.survey is None or total == 0:
            reasons.append(Message(N_("问卷 {ref} 没有各项答案的人数（非常支持……非常反对）"), ref=e.ref))
        elif total < req.survey.min_respondents:
            reasons.append(Message(N_("问卷 {ref} 只有 {total} 人作答；评估方案要求至少 {min} 人"), ref=e.ref,
                                   total=total, min=req.survey.min_respondents))
    if req.survey.required and not surveys:
        reasons.append(Message(N_("没有问卷调查：评估方案要求一份含五项答案人数的问卷")))
    need = required_panel_size(inp.decision, scheme)
    if len(inp.experts) < need:
        reasons.append(Message(N_("专家组只有 {members} 人；此决策至少需要 {need} 人（投资 ¥{investment}，{tier}级）"),
                               members=len(inp.experts), need=need, investment=f"{inp.decision.investment_yuan:,.0f}",
                               tier=Message(tier_of(inp.decision.region).label)))
    for kind in req.by_kind.get(inp.decision.kind, ()):
        if not inp.of_kind(kind):
            reasons.append(Message(N_("没有{evidence}：{decision}类决策必须具备"), evidence=Message(kind.chinese),
                                   decision=Message(inp.decision.kind.chinese)))
    if not inp.factors:
        reasons.append(Message(N_("风险因素登记表为空：请至少登记一项风险因素")))
    known = {e.ref for e in inp.evidence}
    for f in inp.factors:
        unknown = [r for r in f.evidence if r not in known]
        if unknown:
            reasons.append(Message(N_("风险因素 {ref} 引用了不存在的依据材料：{refs}"),
                                   ref=f.ref, refs=", ".join(unknown)))
    return reasons


def _combine(values: Iterable[float], method: str) -> float:
    vals = list(values)
    if not vals:
        return 0.0
    return round(max(vals) if method == "max" else sum(vals), 4)


def _survey_refs(inp: AssessmentInput, rule: HardRule) -> tuple[str, ...]:
    share = rule.when.survey_share
    assert share is not None
    return tuple(e.ref for e in inp.of_kind(EvidenceKind.survey)
                 if isinstance(e.survey, SurveyCounts) and e.survey.share(share.answers) > share.above)


def _factor_refs(factors: Iterable[RiskFactor], rule: HardRule, after: bool) -> tuple[str, ...]:
    if rule.when.failure_in is not None:
        return tuple(f.ref for f in factors if f.failure and f.dimension is rule.when.failure_in)
    cond = rule.when.factor
    assert cond is not None
    out = []
    for f in factors:
        raw = f.after_probability * f.after_impact if after else f.probability * f.impact
        if raw >= cond.score and f.people >= cond.people:
            out.append(f.ref)
    return tuple(out)


def _fired(inp: AssessmentInput, scheme: Scheme, after: bool) -> list[FiredRule]:
    out: list[FiredRule] = []
    for rule in scheme.hard_rules:
        if after and not rule.after_mitigation:
            continue
        refs = _survey_refs(inp, rule) if rule.when.survey_share else _factor_refs(inp.factors, rule, after)
        if refs:
            out.append(FiredRule(id=rule.id, level=rule.level, phase="after" if after else "before",
                                 message=rule.message, refs=refs))
    return out


def score(inp: AssessmentInput, scheme: Scheme) -> Score:
    """Score ``inp`` with ``scheme``; raises :class:`AssessmentIncomplete` listing what is missing."""
    reasons = missing_evidence(inp, scheme)
    if reasons:
        raise AssessmentIncomplete(reasons)
    fs = tuple(
        FactorScore(ref=f.ref, dimension=f.dimension, raw=f.probability * f.impact,
                    weighted=round(f.probability * f.impact * scheme.weight(f.dimension), 4),
                    residual_raw=f.after_probability * f.after_impact,
                    residual_weighted=round(f.after_probability * f.after_impact * scheme.weight(f.dimension),
                                            4))
        for f in inp.factors)
    dims = tuple(
        DimensionFinding(
            dimension=d, weight=scheme.weight(d),
            factors=tuple(s.ref for s in fs if s.dimension is d),
            before=_combine((s.weighted for s in fs if s.dimension is d), scheme.combine),
            after=_combine((s.residual_weighted for s in fs if s.dimension is d), scheme.combine),
            failures=tuple(f.ref for f in inp.factors if f.dimension is d and f.failure))
        for d in Dimension)
    before = _combine((s.weighted for s in fs), scheme.combine)
    after = _combine((s.residual_weighted for s in fs), scheme.combine)
    fired_before, fired_after = _fired(inp, scheme, after=False), _fired(inp, scheme, after=True)
    by_before, by_after = scheme.cutoffs.level(before), scheme.cutoffs.level(after)
    level_before = RiskLevel.highest(by_before, *(r.level for r in fired_before))
    level_after = RiskLevel.highest(by_after, *(r.level for r in fired_after))
    return Score(
        scheme=scheme.scheme, scheme_version=scheme.version, combine=scheme.combine,
        score_before=before, score_after=after,
        level_by_score_before=by_before, level_by_score_after=by_after,
        level_before=level_before, level_after=level_after,
        recommendation=recommend(level_before, level_after),
        factors=fs, dimensions=dims, fired=tuple(fired_before + fired_after),
        panel_required=required_panel_size(inp.decision, scheme),
        cutoff_medium=scheme.cutoffs.medium, cutoff_high=scheme.cutoffs.high,
    )
