"""The scoring scheme of an assessment, as data (``rules/assessment/*.yaml``).

Weights, cut-offs, hard rules, evidence requirements, the expert panel size and the follow-up thresholds
are local policy, so they are configuration: this module is their schema (pydantic, ``extra="forbid"``).
Loading a file with line numbers and running its tests is :mod:`rules.assessment.schemes`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.assessment import Answer, DecisionKind, Dimension, EvidenceKind, RiskLevel, SurveyCounts
from domain.messages import N_, Message

TierName = Literal["city", "district", "street", "community", "grid"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DimensionSpec(_Strict):
    """Weight of a dimension: a factor's probability × impact is multiplied by it."""

    weight: float = Field(gt=0, le=10)
    label: str = ""


class Cutoffs(_Strict):
    """Combined score at or above ``high`` is high, at or above ``medium`` medium, else low."""

    high: float = Field(gt=0)
    medium: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self) -> Cutoffs:
        if self.medium >= self.high:
            raise ValueError(Message(N_("中等的分界（{medium}）须低于高的分界（{high}）"),
                                     medium=self.medium, high=self.high))
        return self

    def level(self, score: float) -> RiskLevel:
        """The level a combined score falls in."""
        if score >= self.high:
            return RiskLevel.high
        return RiskLevel.medium if score >= self.medium else RiskLevel.low


class NoticeRule(_Strict):
    """The public notice (公示): whether one is required and its shortest length in days."""

    required: bool = True
    min_days: int = Field(default=10, ge=1)


class SurveyRule(_Strict):
    """Opinion surveys: whether one is required, and how many respondents make a survey count."""

    required: bool = True
    min_respondents: int = Field(default=1, ge=1)


class PanelBand(_Strict):
    """Experts required for decisions investing less than ``below_yuan`` (none: any amount)."""

    below_yuan: float | None = Field(default=None, gt=0)
    experts: int = Field(ge=1)


class PanelRule(_Strict):
    """Size of the expert panel: the larger of the size by investment and the size by tier."""

    by_investment: tuple[PanelBand, ...] = Field(min_length=1)
    by_tier: dict[TierName, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bands(self) -> PanelRule:
        limits = [b.below_yuan for b in self.by_investment]
        if limits[-1] is not None:
            raise ValueError(Message(N_("最后一个 by_investment 档不能有 below_yuan（它收纳其余情形）")))
        if any(x is None for x in limits[:-1]):
            raise ValueError(Message(N_("只有最后一个 by_investment 档可以省略 below_yuan")))
        bounded = [x for x in limits if x is not None]
        if bounded != sorted(bounded) or len(set(bounded)) != len(bounded):
            raise ValueError(Message(N_("by_investment 各档须按 below_yuan 递增排列")))
        return self


class Requirements(_Strict):
    """Evidence without which scoring is refused (:class:`domain.assessment.AssessmentIncomplete`)."""

    public_notice: NoticeRule = NoticeRule()
    survey: SurveyRule = SurveyRule()
    panel: PanelRule
    by_kind: dict[DecisionKind, tuple[EvidenceKind, ...]] = Field(
        default_factory=dict, description="Further evidence kinds required for a kind of decision.")


class SurveyShare(_Strict):
    """True when in any one survey the share of ``answers`` is above ``above`` (0.5: a majority)."""

    answers: tuple[Answer, ...] = Field(min_length=1)
    above: float = Field(ge=0, lt=1)


class FactorAtLeast(_Strict):
    """True when one factor scores probability × impact ≥ ``score`` and involves ≥ ``people``."""

    score: int = Field(ge=1, le=25)
    people: int = Field(default=0, ge=0)


class When(_Strict):
    """The condition of a hard rule: exactly one of its fields."""

    failure_in: Dimension | None = None
    survey_share: SurveyShare | None = None
    factor: FactorAtLeast | None = None

    @model_validator(mode="after")
    def _one(self) -> When:
        given = [k for k in ("failure_in", "survey_share", "factor") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(Message(N_("须有且只有 failure_in、survey_share、factor 之一；得到 {given}"), given=given))
        return self


class HardRule(_Strict):
    """A floor under the level: when ``when`` holds the level is at least ``level``, whatever the score.

    A rule applies before mitigation always, and after it too unless ``after_mitigation`` is false
    (a factor rule is then judged on residual scores). It never applies only after: mitigation must
    never raise a level.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    when: When
    level: RiskLevel
    after_mitigation: bool = True
    message: str = Field(min_length=1)


class FollowUpThreshold(_Strict):
    """Raise the follow-up warning when ≥ ``at_least`` linked items of ``kind`` fall in ``within_days``."""

    kind: Literal["petition", "dispute", "warning", "any"] = "petition"
    at_least: int = Field(ge=1)
    within_days: int = Field(default=7, ge=1)
    level: Literal["blue", "yellow", "orange", "red"] = "yellow"


class SubjectMatch(_Strict):
    """How follow-up recognises records about a decision: keywords in text, categories in type fields."""

    keywords: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


class FollowUpRule(_Strict):
    """Follow-up while a decision is implemented: thresholds and default subjects by decision kind."""

    thresholds: tuple[FollowUpThreshold, ...] = ()
    subjects: dict[DecisionKind, SubjectMatch] = Field(default_factory=dict)


class CaseFactor(_Strict):
    """A risk factor in a scheme test, compactly: ``residual: [p, i]``."""

    dimension: Dimension
    probability: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    residual: tuple[int, int] | None = None
    people: int = Field(default=0, ge=0)
    failure: bool = False


class CaseDecision(_Strict):
    """The decision of a scheme test."""

    kind: DecisionKind = DecisionKind.other
    region: str = "510104000000"
    investment_yuan: float = Field(default=0.0, ge=0)
    affected_people: int = Field(default=0, ge=0)


class CaseExpect(_Strict):
    """Expected outcome: levels, or the substrings of the reasons scoring is refused."""

    before: RiskLevel | None = None
    after: RiskLevel | None = None
    incomplete: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _some(self) -> CaseExpect:
        if not self.incomplete and self.before is None and self.after is None:
            raise ValueError(Message(N_("expect 需要 before、after 或 incomplete")))
        return self


class SchemeCase(_Strict):
    """One test inside a scheme file: inputs → expected level."""

    name: str = Field(min_length=1)
    decision: CaseDecision = CaseDecision()
    notice_days: int | None = Field(default=None, ge=1, description="Omitted: no public notice.")
    surveys: tuple[SurveyCounts | None, ...] = Field(default=(), description="null: a survey without counts.")
    experts: int = Field(default=0, ge=0)
    evidence_kinds: tuple[EvidenceKind, ...] = ()
    factors: tuple[CaseFactor, ...] = ()
    expect: CaseExpect


class Scheme(_Strict):
    """A scoring scheme file."""

    scheme: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(default=1, ge=1)
    title: str = ""
    dimensions: dict[Dimension, DimensionSpec]
    combine: Literal["max", "sum"] = "max"
    cutoffs: Cutoffs
    hard_rules: tuple[HardRule, ...] = ()
    requirements: Requirements
    follow_up: FollowUpRule = FollowUpRule()
    tests: tuple[SchemeCase, ...] = ()

    @model_validator(mode="after")
    def _complete(self) -> Scheme:
        missing = [d.value for d in Dimension if d not in self.dimensions]
        if missing:
            raise ValueError(Message(N_("以下维度缺少权重：{dimensions}"), dimensions=", ".join(missing)))
        ids = [r.id for r in self.hard_rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(Message(N_("硬性规则 id 重复：{ids}"), ids=", ".join(dup)))
        return self

    def weight(self, dimension: Dimension) -> float:
        """The weight of ``dimension``."""
        return self.dimensions[dimension].weight
