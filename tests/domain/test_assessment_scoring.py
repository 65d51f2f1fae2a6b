"""Scoring an assessment: levels, hard rules, mitigation, and refusing to score incomplete evidence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.assessment import (
    AssessmentIncomplete,
    Dimension,
    Evidence,
    EvidenceKind,
    Recommendation,
    RiskFactor,
    RiskLevel,
    SurveyCounts,
    recommend,
)
from domain.assessment_scoring import missing_evidence, required_panel_size, score
from tests.ssra_helpers import complete_input, default_scheme, notice

SCHEME = default_scheme()


def test_complete_demolition_is_medium_mitigated_to_low() -> None:
    result = score(complete_input(), SCHEME)
    assert (result.level_before, result.level_after) == (RiskLevel.medium, RiskLevel.low)
    assert result.score_before == pytest.approx(14.4)  # 3×4 × controllability weight 1.2
    assert result.score_after == pytest.approx(4.8)  # max(2×2 × 1.2, 1×2 × 1.0)
    assert result.recommendation is Recommendation.implement_after_mitigation
    dims = {d.dimension: d for d in result.dimensions}
    assert dims[Dimension.controllability].factors == ("F1",)
    assert dims[Dimension.legality].factors == ()


def test_legality_failure_is_high_whatever_the_score() -> None:
    inp = complete_input((RiskFactor(ref="F1", title="无征收批文", dimension=Dimension.legality, probability=1,
                                     impact=1, failure=True),))
    result = score(inp, SCHEME)
    assert result.level_by_score_before is RiskLevel.low
    assert (result.level_before, result.level_after) == (RiskLevel.high, RiskLevel.high)
    assert result.recommendation is Recommendation.do_not_implement
    assert {f.id for f in result.fired} == {"legality-failure"}
    assert result.fired[0].refs == ("F1",)


def test_majority_strongly_opposed_cannot_be_low() -> None:
    low = (RiskFactor(ref="F1", title="小", dimension=Dimension.feasibility, probability=1, impact=1),)
    opposed = SurveyCounts(strongly_oppose=51, support=49)
    result = score(complete_input(low, survey=opposed), SCHEME)
    assert result.level_by_score_before is RiskLevel.low
    assert result.level_before is RiskLevel.medium and result.level_after is RiskLevel.medium
    assert "survey-majority-strongly-opposed" in {f.id for f in result.fired}
    assert score(complete_input(low), SCHEME).level_before is RiskLevel.low


def test_recommendation_follows_levels() -> None:
    assert recommend(RiskLevel.low, RiskLevel.low) is Recommendation.may_proceed
    assert recommend(RiskLevel.high, RiskLevel.medium) is Recommendation.implement_after_mitigation
    assert recommend(RiskLevel.high, RiskLevel.high) is Recommendation.do_not_implement


def test_panel_size_by_investment_and_tier() -> None:
    assert required_panel_size(complete_input().decision, SCHEME) == 3
    assert required_panel_size(complete_input(investment=1e9).decision, SCHEME) == 5
    assert required_panel_size(complete_input(investment=999_999_999).decision, SCHEME) == 3
    assert required_panel_size(complete_input(region="510100000000").decision, SCHEME) == 5
    assert required_panel_size(complete_input(region="510104001000").decision, SCHEME) == 3


@pytest.mark.parametrize(("change", "expected"), [
    (lambda i: i.model_copy(update={"evidence": i.evidence[1:]}), "没有公示"),
    (lambda i: i.model_copy(update={"evidence": (notice(9), *i.evidence[1:])}), "只持续了 9 天"),
    (lambda i: i.model_copy(update={"evidence": (Evidence(ref="E1", kind=EvidenceKind.public_notice,
                                                          title="公示"), *i.evidence[1:])}),
     "没有起止日期"),
    (lambda i: i.model_copy(update={"experts": i.experts[:2]}), "专家组只有 2 人"),
    (lambda i: i.model_copy(update={"evidence": (i.evidence[0], Evidence(ref="E2", kind=EvidenceKind.survey,
                                                                         title="问卷"), i.evidence[2])}),
     "问卷 E2 没有各项答案的人数"),
    (lambda i: i.model_copy(update={"evidence": (i.evidence[0], Evidence(
        ref="E2", kind=EvidenceKind.survey, title="问卷", survey=SurveyCounts()), i.evidence[2])}),
     "问卷 E2 没有各项答案的人数"),
    (lambda i: i.model_copy(update={"evidence": (i.evidence[0], Evidence(
        ref="E2", kind=EvidenceKind.survey, title="问卷", survey=SurveyCounts(support=5)), i.evidence[2])}),
     "只有 5 人作答"),
    (lambda i: i.model_copy(update={"evidence": (i.evidence[0], i.evidence[2])}), "没有问卷调查"),
    (lambda i: i.model_copy(update={"evidence": i.evidence[:2]}), "没有听证会"),
    (lambda i: i.model_copy(update={"factors": ()}), "风险因素登记表为空"),
    (lambda i: i.model_copy(update={"factors": (RiskFactor(ref="F1", title="x", dimension=Dimension.safety,
                                                           probability=2, impact=2, evidence=("E9",)),)}),
     "引用了不存在的依据材料：E9"),
])
def test_missing_evidence_blocks_scoring(change, expected: str) -> None:  # type: ignore[no-untyped-def]
    inp = change(complete_input())
    with pytest.raises(AssessmentIncomplete) as exc:
        score(inp, SCHEME)
    assert any(expected in r for r in exc.value.reasons), exc.value.reasons
    assert missing_evidence(inp, SCHEME) == exc.value.reasons


def test_every_reason_is_listed_at_once() -> None:
    inp = complete_input(experts=1).model_copy(update={"evidence": ()})
    reasons = missing_evidence(inp, SCHEME)
    assert len(reasons) >= 4 and any("公示" in r for r in reasons) and any("3" in r for r in reasons)


def test_residual_above_original_is_refused() -> None:
    with pytest.raises(ValueError, match="化解措施不能抬高风险"):
        RiskFactor(ref="F1", title="x", dimension=Dimension.safety, probability=2, impact=2,
                   residual_probability=3)


# --- properties -------------------------------------------------------------------------------------------

scores = st.integers(min_value=1, max_value=5)


@st.composite
def factors(draw: st.DrawFn) -> tuple[RiskFactor, ...]:
    n = draw(st.integers(min_value=1, max_value=6))
    out = []
    for k in range(1, n + 1):
        p, i = draw(scores), draw(scores)
        out.append(RiskFactor(
            ref=f"F{k}", title=f"f{k}", dimension=draw(st.sampled_from(list(Dimension))), probability=p, impact=i,
            residual_probability=draw(st.integers(1, p)), residual_impact=draw(st.integers(1, i)),
            people=draw(st.integers(0, 500)), failure=draw(st.booleans()) and draw(st.booleans())))
    return tuple(out)


surveys = st.builds(SurveyCounts, strongly_support=st.integers(0, 60), support=st.integers(0, 60),
                    neutral=st.integers(0, 60), oppose=st.integers(0, 60),
                    strongly_oppose=st.integers(0, 200)).filter(lambda s: s.total >= 30)


@settings(max_examples=150, deadline=None)
@given(factors(), surveys, scores, scores)
def test_adding_a_legality_failure_never_lowers_the_level(fs, survey, p, i) -> None:  # type: ignore[no-untyped-def]
    base = score(complete_input(fs, survey=survey), SCHEME)
    extra = RiskFactor(ref=f"F{len(fs) + 1}", title="违法", dimension=Dimension.legality, probability=p,
                       impact=i, failure=True)
    worse = score(complete_input((*fs, extra), survey=survey), SCHEME)
    assert worse.level_before.rank >= base.level_before.rank
    assert worse.level_after.rank >= base.level_after.rank
    assert worse.level_before is RiskLevel.high and worse.level_after is RiskLevel.high


@settings(max_examples=150, deadline=None)
@given(factors(), surveys)
def test_mitigation_never_raises_the_level(fs, survey) -> None:  # type: ignore[no-untyped-def]
    result = score(complete_input(fs, survey=survey), SCHEME)
    assert result.level_after.rank <= result.level_before.rank
    assert result.score_after <= result.score_before


@settings(max_examples=100, deadline=None)
@given(factors(), surveys, st.data())
def test_a_graver_factor_never_lowers_the_level(fs, survey, data) -> None:  # type: ignore[no-untyped-def]
    k = data.draw(st.integers(0, len(fs) - 1))
    f = fs[k]
    graver = f.model_copy(update={"probability": min(5, f.probability + 1)})
    base = score(complete_input(fs, survey=survey), SCHEME)
    worse = score(complete_input((*fs[:k], graver, *fs[k + 1:]), survey=survey), SCHEME)
    assert worse.level_before.rank >= base.level_before.rank


@settings(max_examples=100, deadline=None)
@given(factors(), st.integers(0, 40), st.integers(41, 200))
def test_majority_strongly_opposed_is_never_low(fs, others, strongly) -> None:  # type: ignore[no-untyped-def]
    survey = SurveyCounts(support=others, strongly_oppose=strongly)
    result = score(complete_input(fs, survey=survey), SCHEME)
    assert result.level_before is not RiskLevel.low and result.level_after is not RiskLevel.low
