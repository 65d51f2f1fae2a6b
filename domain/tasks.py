"""Tasks to the grid (pure): 核实 verify, 走访 visit, 调处 mediate — what a warning creates, for whom, by
when, and the life of a task: open → accepted → done (with an outcome), or overdue.

The escalation policy (``integrations/data/escalation.yaml``, section ``tasks``) declares :class:`TaskRule`
entries: a rule matches warnings by rule id (glob) or category (record kind or type) and level, and creates
one task per :class:`TaskSpec`. The policy is pinned on each warning when it opens, so its tasks follow
the declaration in force then.

The assignee node is the warning region's ancestor at the assignee tier. A region coarser than that tier
answers for itself: a warning on a community has no grid, so its "grid" task goes to the community; a
district-wide warning's "community" task goes to the district. ``unit:<name>`` is the duty unit of that
kind at the warning's responsible node (the level's tier), whose jurisdiction covers the same subtree.

The outcome of a done task proposes, never decides (humans decide): 不属实 and 已化解 propose resolving
the warning to its holder, 需上报 escalates it one tier up, 属实 is a note on the warning's timeline.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.durations import PositiveDuration
from domain.messages import N_, Message
from domain.regions import Tier, ancestor, tier_of
from domain.warnings import Level

TaskKind = Literal["verify", "visit", "mediate"]
KINDS: tuple[str, ...] = ("verify", "visit", "mediate")
KIND_CN = {"verify": "核实", "visit": "走访", "mediate": "调处"}
"""The task kinds as grid workers say them."""

STATUSES: tuple[str, ...] = ("open", "accepted", "done", "overdue", "withdrawn")
STATUS_CN = {"open": "待接单", "accepted": "已接单", "done": "已办结", "overdue": "已超期", "withdrawn": "已撤销"}
UNFINISHED: tuple[str, ...] = ("open", "accepted", "overdue")
"""Statuses of a task still to be done (a warning resolved meanwhile withdraws them)."""
_WITHDRAWN = Message(N_("任务已撤销（所属预警已办结），无需再办理。"))

Outcome = Literal["confirmed", "unfounded", "defused", "escalate"]
OUTCOMES: tuple[str, ...] = ("confirmed", "unfounded", "defused", "escalate")
OUTCOME_CN = {"confirmed": "属实", "unfounded": "不属实", "defused": "已化解", "escalate": "需上报"}
_OUTCOME_BY_NAME = {**{k: k for k in OUTCOMES}, **{v: k for k, v in OUTCOME_CN.items()}}

ASSIGNEE_TIERS: tuple[str, ...] = ("grid", "community", "street", "district")
"""Tiers a task may be assigned to (the city and above hold warnings, they do not go and look)."""


def parse_outcome(text: str) -> Outcome | None:
    """``"不属实"`` or ``"unfounded"`` → ``"unfounded"``; anything else → ``None``."""
    found = _OUTCOME_BY_NAME.get(text.strip().lower() if text.isascii() else text.strip())
    return found  # type: ignore[return-value]


class TaskSpec(BaseModel):
    """One task a matching warning creates: its kind, the assignee node (by tier, or a duty unit), due in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: TaskKind
    assignee: str = Field(description="grid | community | street | district | unit:<duty unit kind>")
    due: PositiveDuration

    @field_validator("assignee")
    @classmethod
    def _assignee(cls, value: str) -> str:
        if value in ASSIGNEE_TIERS or (value.startswith("unit:") and len(value) > 5):
            return value
        raise ValueError(Message(N_("assignee 须为 {tiers} 之一或 unit:<名称>，得到 {value}"),
                                 tiers=", ".join(ASSIGNEE_TIERS), value=repr(value)))

    @property
    def unit(self) -> str | None:
        """The duty unit kind for ``unit:<name>``, else ``None``."""
        return self.assignee[5:] if self.assignee.startswith("unit:") else None


class TaskRule(BaseModel):
    """Warnings of some rules (glob patterns on rule ids) or categories, at some levels, create tasks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    rules: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    levels: tuple[Level, ...] | Literal["any"] = "any"
    except_rules: tuple[str, ...] = ()
    """Globs on rule ids this entry never matches (warnings about the system or a decision, not a place)."""
    create: tuple[TaskSpec, ...] = Field(min_length=1)
    stop: bool = False
    """When this entry matches, later entries are not considered (a specific entry before a general one)."""

    @model_validator(mode="after")
    def _selects_something(self) -> TaskRule:
        # An entry with neither would match nothing; "every warning" is said explicitly with rules: ["*"].
        if not self.rules and not self.categories:
            raise ValueError(Message(N_("任务规则 {name} 需要 rules（通配符，例如 ['*']）或 categories"),
                                     name=repr(self.name)))
        return self

    def matches(self, rule: str, level: Level | str, categories: Iterable[str] = ()) -> bool:
        """True if a warning of ``rule`` at ``level`` with these categories creates this entry's tasks."""
        if self.levels != "any" and Level(level) not in self.levels:
            return False
        if any(fnmatch.fnmatchcase(rule, pattern) for pattern in self.except_rules):
            return False
        if any(fnmatch.fnmatchcase(rule, pattern) for pattern in self.rules):
            return True
        return bool(set(self.categories) & set(categories))


@dataclass(frozen=True)
class PlannedTask:
    """A task to create for a warning: kind, assignee node (code, tier, unit), due time, person visited."""

    kind: str
    region: str
    tier: str
    unit: str | None
    due_at: datetime
    person: str | None = None


def assignee_node(spec: TaskSpec, region: str, responsible: tuple[Tier, str]) -> tuple[str, str]:
    """(code, tier) of the node a task goes to: the region's ancestor at the assignee tier, the region
    itself when it is coarser than that tier, or the responsible node for a duty unit."""
    if spec.unit is not None:
        return responsible[1], responsible[0].value
    code = ancestor(region, Tier(spec.assignee))
    if code is None:
        return region, tier_of(region).value
    return code, spec.assignee


def plan_tasks(
    rules: Sequence[TaskRule], *, rule: str, level: Level | str, region: str, categories: Iterable[str],
    responsible: tuple[Tier, str], now: datetime, person: str | None = None,
) -> list[PlannedTask]:
    """The tasks a warning creates at ``now``, in declaration order, one per (kind, node): a later entry
    that names the same kind and node again adds nothing (the store keeps them unique too)."""
    if now.tzinfo is None:
        raise ValueError("naive datetime refused")
    cats = tuple(categories)
    out: dict[tuple[str, str], PlannedTask] = {}
    for entry in rules:
        if not entry.matches(rule, level, cats):
            continue
        for spec in entry.create:
            code, tier = assignee_node(spec, region, responsible)
            out.setdefault((spec.kind, code), PlannedTask(
                kind=spec.kind, region=code, tier=tier, unit=spec.unit, due_at=now + spec.due,
                person=person if spec.kind == "visit" else None))
        if entry.stop:
            break
    return list(out.values())


class TaskRefused(Exception):
    """An action the task's state does not allow; ``reason`` is a key, the message is Chinese."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class TaskState:
    """What the state machine needs of a task."""

    status: str
    due_at: datetime
    accepted_at: datetime | None = None
    accepted_by: str | None = None
    done_at: datetime | None = None
    done_by: str | None = None
    outcome: str | None = None


def accept(state: TaskState, who: str, now: datetime) -> TaskState:
    """``who`` takes the task. Open → accepted; an overdue task may still be taken (it stays overdue, its
    escalation already happened). Taking it again by the same person changes nothing."""
    if state.status == "done":
        raise TaskRefused("done", Message(N_("任务已办结，无需再接单。")))
    if state.status == "withdrawn":
        raise TaskRefused("withdrawn", _WITHDRAWN)
    if state.accepted_by is not None:
        if state.accepted_by == who:
            return state
        raise TaskRefused("taken", Message(N_("任务已由 {who} 接单；如需转交，请联系其本人或上级。"),
                                           who=state.accepted_by))
    status = "accepted" if state.status == "open" else state.status
    return replace(state, status=status, accepted_at=now, accepted_by=who)


def complete(state: TaskState, who: str, outcome: str, now: datetime) -> TaskState:
    """``who`` finishes the task with ``outcome`` (Chinese or English key). Refused when already done or
    the outcome is unknown; an open or overdue task may be done without being accepted first."""
    key = parse_outcome(outcome)
    if key is None:
        raise TaskRefused("outcome", Message(N_("未知的办结结果 {outcome!r}：请用 属实、不属实、已化解 或 需上报"
                                               "（confirmed / unfounded / defused / escalate）。"), outcome=outcome))
    if state.status == "withdrawn":
        raise TaskRefused("withdrawn", _WITHDRAWN)
    if state.status == "done":
        done = OUTCOME_CN.get(state.outcome or "", state.outcome or "")
        raise TaskRefused("done", Message(N_("任务已由 {who} 办结（结果：{outcome}），不能重复办结。"),
                                          who=state.done_by, outcome=Message(done)))
    return replace(state, status="done", done_at=now, done_by=who, outcome=key,
                   accepted_at=state.accepted_at or now, accepted_by=state.accepted_by or who)


def is_overdue(state: TaskState, now: datetime) -> bool:
    """True if the task is open or accepted and its due time has passed by ``now``."""
    return state.status in ("open", "accepted") and now > state.due_at


def mark_overdue(state: TaskState, now: datetime) -> TaskState:
    """The task turned overdue (only an open or accepted one past its due time)."""
    if not is_overdue(state, now):
        raise TaskRefused("not-overdue", Message(N_("任务未超期或已办结。")))
    return replace(state, status="overdue")


def withdraw(state: TaskState) -> TaskState:
    """The task's warning was resolved before the task was done: the task is withdrawn (it no longer counts
    as due or overdue). Only an unfinished task can be withdrawn."""
    if state.status not in UNFINISHED:
        raise TaskRefused(state.status, Message(N_("只有未办结的任务可以撤销。")))
    return replace(state, status="withdrawn")


EffectKind = Literal["note", "propose-resolve", "escalate"]


@dataclass(frozen=True)
class OutcomeEffect:
    """What a done task's outcome does to its warning: a note, a proposal to resolve, or an escalation."""

    action: EffectKind
    text: str


def outcome_effect(kind: str, outcome: str) -> OutcomeEffect:
    """The effect of a task of ``kind`` done with ``outcome`` (the outcome's key)."""
    task = Message(KIND_CN.get(kind, kind))  # a vocabulary name: translated where shown
    if outcome == "unfounded":
        return OutcomeEffect("propose-resolve",
                             Message(N_("{task}结果：不属实。建议责任单位核查后办结本预警。"), task=task))
    if outcome == "defused":
        return OutcomeEffect("propose-resolve",
                             Message(N_("{task}结果：已化解。建议责任单位确认后办结本预警。"), task=task))
    if outcome == "escalate":
        return OutcomeEffect("escalate", Message(N_("{task}结果：需上报。预警已逐级上报上一级。"), task=task))
    return OutcomeEffect("note", Message(N_("{task}结果：属实。请责任单位继续处置。"), task=task))
