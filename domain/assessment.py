"""社会稳定风险评估 (SSRA): the vocabulary of assessing a major decision before it is taken.

A :class:`Decision` (land acquisition, demolition, a large project, a policy change) is assessed on five
:class:`Dimension` s. The office gathers :class:`Evidence` (documents, a public notice, surveys with the
five answers, hearings, visits) and an expert panel, and keeps a register of :class:`RiskFactor` s, each
scored probability × impact before and after its mitigation. :class:`AssessmentInput` is everything the
scoring scheme reads; scoring itself lives in :mod:`domain.assessment_scoring`.

Every model here is pure data (pydantic, frozen): no I/O. Humans decide: the level and recommendation
advise the collective decision, they take no action against anybody.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.messages import N_, Message
from domain.regions import validate_code


class DecisionKind(StrEnum):
    """What kind of major decision is assessed."""

    land_acquisition = "land_acquisition"
    demolition = "demolition"
    construction_project = "construction_project"
    policy_change = "policy_change"
    other = "other"

    @property
    def chinese(self) -> str:
        """Name an assessment office uses."""
        return {"land_acquisition": "征地", "demolition": "拆迁安置", "construction_project": "重大工程项目",
                "policy_change": "政策调整", "other": "其他"}[self.value]


class Dimension(StrEnum):
    """The five dimensions a decision is assessed on."""

    legality = "legality"
    rationality = "rationality"
    feasibility = "feasibility"
    controllability = "controllability"
    safety = "safety"

    @property
    def chinese(self) -> str:
        """合法性, 合理性, 可行性, 可控性, 安全性."""
        return {"legality": "合法性", "rationality": "合理性", "feasibility": "可行性",
                "controllability": "可控性", "safety": "安全性"}[self.value]


class RiskLevel(StrEnum):
    """The assessed risk level, lowest first."""

    low = "low"
    medium = "medium"
    high = "high"

    @property
    def rank(self) -> int:
        """0 for low, 1 for medium, 2 for high."""
        return ("low", "medium", "high").index(self.value)

    @property
    def chinese(self) -> str:
        """低风险, 中风险, 高风险."""
        return ("低风险", "中风险", "高风险")[self.rank]

    @staticmethod
    def highest(*levels: RiskLevel) -> RiskLevel:
        """The gravest of ``levels`` (low when none)."""
        return max(levels, key=lambda lv: lv.rank, default=RiskLevel.low)


class Recommendation(StrEnum):
    """What the assessment advises the collective decision."""

    do_not_implement = "do_not_implement"
    implement_after_mitigation = "implement_after_mitigation"
    may_proceed = "may_proceed"

    @property
    def chinese(self) -> str:
        """The wording of the report."""
        return {"do_not_implement": "暂缓实施或重新论证调整方案（不予实施）",
                "implement_after_mitigation": "落实风险防范化解措施后实施",
                "may_proceed": "可以实施，做好解释说明工作"}[self.value]


def recommend(before: RiskLevel, after: RiskLevel) -> Recommendation:
    """High after mitigation: do not implement (or redesign); low even before it: may proceed; else the
    decision may be implemented only once its mitigation is in place."""
    if after is RiskLevel.high:
        return Recommendation.do_not_implement
    if before is RiskLevel.low and after is RiskLevel.low:
        return Recommendation.may_proceed
    return Recommendation.implement_after_mitigation


class DecisionOutcome(StrEnum):
    """The collective decision (集体决策) taken after the assessment; it may differ from the advice."""

    implement = "implement"
    implement_after_mitigation = "implement_after_mitigation"
    redesign = "redesign"
    reject = "reject"

    @property
    def implements(self) -> bool:
        """True when the decision goes ahead (and follow-up starts watching it)."""
        return self in (DecisionOutcome.implement, DecisionOutcome.implement_after_mitigation)

    @property
    def chinese(self) -> str:
        """The wording of the minutes."""
        return {"implement": "同意实施", "implement_after_mitigation": "落实化解措施后实施",
                "redesign": "调整方案后重新评估", "reject": "不予实施"}[self.value]


class Answer(StrEnum):
    """The five answers of an opinion survey, most supportive first."""

    strongly_support = "strongly_support"
    support = "support"
    neutral = "neutral"
    oppose = "oppose"
    strongly_oppose = "strongly_oppose"

    @property
    def chinese(self) -> str:
        """非常支持 … 强烈反对."""
        return {"strongly_support": "非常支持", "support": "支持", "neutral": "中立", "oppose": "反对",
                "strongly_oppose": "强烈反对"}[self.value]


ANSWERS: tuple[Answer, ...] = tuple(Answer)


class EvidenceKind(StrEnum):
    """Kinds of evidence: documents and the ways of hearing opinions."""

    document = "document"
    public_notice = "public_notice"
    survey = "survey"
    hearing = "hearing"
    visit = "visit"

    @property
    def chinese(self) -> str:
        """文件, 公示, 问卷调查, 听证会, 走访."""
        return {"document": "文件", "public_notice": "公示", "survey": "问卷调查", "hearing": "听证会",
                "visit": "走访"}[self.value]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Decision(_Frozen):
    """The major decision under assessment."""

    title: str = Field(min_length=1)
    body: str = Field(default="", description="The body responsible for the decision (决策主体).")
    region: str
    affected_people: int = Field(default=0, ge=0)
    kind: DecisionKind = DecisionKind.other
    investment_yuan: float = Field(default=0.0, ge=0)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return validate_code(value)


class SurveyCounts(_Frozen):
    """How many respondents gave each of the five answers."""

    strongly_support: int = Field(default=0, ge=0)
    support: int = Field(default=0, ge=0)
    neutral: int = Field(default=0, ge=0)
    oppose: int = Field(default=0, ge=0)
    strongly_oppose: int = Field(default=0, ge=0)

    @property
    def total(self) -> int:
        """Number of respondents."""
        return sum(self.count(a) for a in ANSWERS)

    def count(self, answer: Answer) -> int:
        """Respondents who gave ``answer``."""
        return int(getattr(self, answer.value))

    def share(self, answers: tuple[Answer, ...] | list[Answer]) -> float:
        """Fraction of respondents who gave any of ``answers`` (0 for an empty survey)."""
        total = self.total
        return sum(self.count(a) for a in set(answers)) / total if total else 0.0


class PublicNotice(_Frozen):
    """A public notice (公示) of the decision: first and last day, both included."""

    start: date
    end: date

    @model_validator(mode="after")
    def _order(self) -> PublicNotice:
        if self.end < self.start:
            raise ValueError(Message(N_("公示的结束日期（{end}）早于开始日期（{start}）"),
                                     end=self.end, start=self.start))
        return self

    @property
    def days(self) -> int:
        """Calendar days, counted inclusively: 1 to 10 January is 10 days."""
        return (self.end - self.start).days + 1


class Evidence(_Frozen):
    """One item of evidence, referenced as ``E1``, ``E2`` … in factors and the report."""

    ref: str = Field(pattern=r"^E\d+$")
    kind: EvidenceKind
    title: str = Field(min_length=1)
    summary: str = ""
    on: date | None = None
    participants: int | None = Field(default=None, ge=0, description="People heard (hearing, visit).")
    notice: PublicNotice | None = None
    survey: SurveyCounts | None = None


class Expert(_Frozen):
    """A member of the expert panel."""

    name: str = Field(min_length=1)
    field: str = ""
    affiliation: str = ""


class RiskFactor(_Frozen):
    """One risk factor of the register, referenced as ``F1``, ``F2`` …

    ``failure`` marks a requirement that is not met (e.g. a legal approval missing): a legality failure
    is not a probability, it is a defect, and the scheme's hard rules act on it. Mitigation can only
    lower a factor: residual probability and impact may not exceed the original ones.
    """

    ref: str = Field(pattern=r"^F\d+$")
    title: str = Field(min_length=1)
    dimension: Dimension
    probability: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    people: int = Field(default=0, ge=0, description="People involved in this risk.")
    mitigation: str = ""
    residual_probability: int | None = Field(default=None, ge=1, le=5)
    residual_impact: int | None = Field(default=None, ge=1, le=5)
    failure: bool = False
    evidence: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _residual(self) -> RiskFactor:
        # Why refuse rather than clamp: a mitigation that raises a risk is a new risk; register it as one.
        if self.residual_probability is not None and self.residual_probability > self.probability:
            raise ValueError(Message(N_("剩余可能性高于可能性：化解措施不能抬高风险")))
        if self.residual_impact is not None and self.residual_impact > self.impact:
            raise ValueError(Message(N_("剩余影响高于影响：化解措施不能抬高风险")))
        return self

    @property
    def after_probability(self) -> int:
        """Probability after mitigation (the original when no residual is given)."""
        return self.residual_probability if self.residual_probability is not None else self.probability

    @property
    def after_impact(self) -> int:
        """Impact after mitigation (the original when no residual is given)."""
        return self.residual_impact if self.residual_impact is not None else self.impact


class AssessmentInput(_Frozen):
    """Everything a scoring scheme reads about one assessment."""

    decision: Decision
    evidence: tuple[Evidence, ...] = ()
    experts: tuple[Expert, ...] = ()
    factors: tuple[RiskFactor, ...] = ()

    def of_kind(self, kind: EvidenceKind) -> tuple[Evidence, ...]:
        """The evidence items of one kind."""
        return tuple(e for e in self.evidence if e.kind is kind)


class AssessmentIncomplete(Exception):
    """Scoring refused: evidence the scheme requires is missing. ``reasons`` says exactly what."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("评估材料不全：" + "；".join(reasons))  # the reasons are Messages; shown one by one
        self.reasons = list(reasons)
