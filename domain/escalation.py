"""Escalation policy: level -> responsible tier, SLA deadlines, and the next step on a breach (pure).

A warning's level decides the tier that answers for it (blue → community, yellow → street, orange →
district, red → city); the responsible *node* is the warning region's ancestor at that tier. A warning
not acknowledged in time is escalated to the next tier up (above the city: the city's duty leadership),
and once the configured number of escalation steps is spent, reminders repeat until someone acknowledges.

The policy is data (``integrations/data/escalation.yaml``). Its :meth:`EscalationPolicy.snapshot` is pinned
on each warning when it opens, so a later change of the file never rewrites the deadlines of warnings
already in flight: SLA decisions use the pinned copy (:meth:`EscalationPolicy.from_snapshot`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.durations import NonNegativeDuration, PositiveDuration
from domain.inhibition import Inhibition, merge_inhibitions
from domain.messages import N_, Message
from domain.regions import Tier, ancestor, tier_of
from domain.tasks import TaskRule
from domain.warnings import Level, Status

LEADERSHIP: Literal["leadership"] = "leadership"
"""The step above the city tier: the city's duty leadership."""

Step = Tier | Literal["leadership"]
"""Where a warning can be routed: a tier, or the duty leadership above the city."""


class LevelPolicy(BaseModel):
    """What one level asks of the responders: who answers, and how fast."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: Tier
    acknowledge_within: PositiveDuration
    resolve_within: PositiveDuration
    remind_every: PositiveDuration


class AlsoNotify(BaseModel):
    """An extra duty unit told about a matching warning (e.g. the district labour bureau)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: str = Field(description="Duty unit kind in the responders directory, e.g. `labour-bureau`.")
    tier: Tier | Literal["same"] = Field(
        default="same", description="Tier of the unit's node: a fixed tier, or `same` as the warning's route."
    )


class CategoryOverride(BaseModel):
    """Warnings of some rules (glob patterns on rule ids) or categories also go to extra duty units."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    rules: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    also: tuple[AlsoNotify, ...]

    def matches(self, rule: str, categories: Iterable[str] = ()) -> bool:
        """True if ``rule`` matches one of the rule patterns or one category is listed."""
        if any(fnmatch.fnmatchcase(rule, pattern) for pattern in self.rules):
            return True
        return bool(set(self.categories) & set(categories))


class Leadership(BaseModel):
    """The city's duty leadership, the last step above the city tier (its people: responders directory)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "市委市政府值班领导"


# (tier, acknowledge within, resolve within, remind every): the "Levels, tiers and escalation" table of docs/design.md.
_DEFAULT_LEVELS: dict[str, tuple[str, str, str, str]] = {
    "blue": ("community", "24h", "15d", "12h"),
    "yellow": ("street", "2h", "7d", "1h"),
    "orange": ("district", "30m", "72h", "30m"),
    "red": ("city", "15m", "24h", "15m"),
}


def _default_levels() -> dict[Level, LevelPolicy]:
    keys = ("tier", "acknowledge_within", "resolve_within", "remind_every")
    return {
        Level(name): LevelPolicy.model_validate(dict(zip(keys, values, strict=True)))
        for name, values in _DEFAULT_LEVELS.items()
    }


class EscalationPolicy(BaseModel):
    """Per level: responsible tier and deadlines; escalation depth; the leadership; category overrides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    levels: dict[Level, LevelPolicy] = Field(default_factory=_default_levels)
    escalation_steps: int = Field(
        default=1, ge=1, le=5, description="Tiers climbed on missed acknowledgements before only reminding."
    )
    leadership: Leadership = Field(default_factory=Leadership)
    overrides: tuple[CategoryOverride, ...] = ()
    inhibitions: tuple[Inhibition, ...] = ()
    """While a source rule's warning is open, its target rules' warnings beneath it are held (none: off)."""
    tasks: tuple[TaskRule, ...] = ()
    """Tasks (核实/走访/调处) a matching warning creates for the grid (``domain.tasks``; none: off)."""
    digest_window: NonNegativeDuration = Field(
        default=timedelta(minutes=10),
        description="Blue and yellow notifications for one responder and channel inside this window go as "
        "one digest (orange and red never wait); 0 turns digests off.",
    )


    @model_validator(mode="after")
    def _every_level(self) -> EscalationPolicy:
        missing = [lv.value for lv in Level if lv not in self.levels]
        if missing:
            raise ValueError(Message(N_("升级策略缺少以下等级：{levels}"), levels=", ".join(missing)))
        return self

    @classmethod
    def load(cls, path: Path) -> EscalationPolicy:
        """Read the policy YAML; a missing file is the defaults of docs/design.md#levels-tiers-and-escalation."""
        if not path.exists():
            return cls()
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls.model_validate(data)

    def for_level(self, level: Level | str) -> LevelPolicy:
        """The policy of one level."""
        return self.levels[Level(level)]

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready copy to pin on a warning at open; carries its own content hash as ``id``."""
        # Without inhibitions or tasks the snapshot (and its id) stays what it was before they existed.
        empty = {name for name in ("inhibitions", "tasks") if not getattr(self, name)}
        data: dict[str, Any] = self.model_dump(mode="json", exclude=empty)
        canon = json.dumps(data, sort_keys=True, ensure_ascii=False)
        data["id"] = hashlib.sha256(canon.encode("utf-8")).hexdigest()[:16]
        return data

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> EscalationPolicy:
        """The policy pinned on a warning (inverse of :meth:`snapshot`)."""
        return cls.model_validate({k: v for k, v in data.items() if k != "id"})

    def with_default_inhibitions(self, defaults: Iterable[Inhibition]) -> EscalationPolicy:
        """This policy with the rulebook's default inhibitions merged under its declared ones
        (:func:`domain.inhibition.merge_inhibitions`); pinned on each warning like the rest."""
        return self.model_copy(update={"inhibitions": merge_inhibitions(defaults, self.inhibitions)})

    def extras_for(self, rule: str, categories: Iterable[str] = ()) -> list[AlsoNotify]:
        """Extra duty units for a warning of ``rule`` with these categories, in policy order, deduplicated."""
        cats = tuple(categories)
        out: list[AlsoNotify] = []
        for override in self.overrides:
            if override.matches(rule, cats):
                out.extend(a for a in override.also if a not in out)
        return out


def responsible_node(region: str, level: Level | str, policy: EscalationPolicy) -> tuple[Tier, str]:
    """The node answering for a warning in ``region`` at ``level``: the region's ancestor at the level's
    tier; a region coarser than that tier (a district-wide warning at blue) answers for itself."""
    tier = policy.for_level(level).tier
    code = ancestor(region, tier)
    if code is None:
        return tier_of(region), region
    return tier, code


def next_step(tier: Step | str) -> Step:
    """The step above ``tier``: the parent tier, above the city the duty leadership (which is the top)."""
    if tier == LEADERSHIP:
        return LEADERSHIP
    parent = Tier(tier).parent()
    return LEADERSHIP if parent is None else parent


def step_node(code: str, step: Step) -> str:
    """The node code of ``step`` above a node ``code``; the leadership sits at the city's code."""
    tier = Tier.city if step == LEADERSHIP else Tier(step)
    return ancestor(code, tier) or code


@dataclass(frozen=True)
class Deadlines:
    """When a warning must be acknowledged and resolved."""

    ack_due_at: datetime
    resolve_due_at: datetime


def deadlines(opened_at: datetime, level: Level | str, policy: EscalationPolicy) -> Deadlines:
    """Deadlines of a warning opened (or raised to ``level``) at ``opened_at`` (timezone-aware)."""
    if opened_at.tzinfo is None:
        raise ValueError("naive datetime refused")
    lp = policy.for_level(level)
    return Deadlines(opened_at + lp.acknowledge_within, opened_at + lp.resolve_within)


@dataclass(frozen=True)
class SlaView:
    """What the SLA watch needs to know of a warning (built from a ``WarningRow``)."""

    id: int
    status: str
    level: str
    tier: str
    route_region: str
    escalation_step: int
    ack_due_at: datetime | None
    policy: EscalationPolicy


@dataclass(frozen=True)
class DueEscalation:
    """A warning that missed its acknowledgement deadline, and what to do: climb a tier, or remind."""

    warning_id: int
    action: Literal["escalate", "remind"]
    from_step: Step
    to_step: Step
    to_code: str
    due_at: datetime
    next_due_at: datetime
    """The acknowledgement deadline after this action (the next breach is checked against it)."""


def due_escalations(now: datetime, warnings: Sequence[SlaView]) -> list[DueEscalation]:
    """Which open, unacknowledged warnings missed their ``ack_due_at`` by ``now``, and the next step for
    each. Escalation climbs one tier per breach until the policy's ``escalation_steps`` are spent (or the
    leadership is reached); after that each breach is a reminder, due again after ``remind_every``."""
    out: list[DueEscalation] = []
    for w in warnings:
        if w.status != Status.open.value or w.ack_due_at is None or w.ack_due_at > now or not w.tier:
            continue
        lp = w.policy.for_level(w.level)
        current: Step = LEADERSHIP if w.tier == LEADERSHIP else Tier(w.tier)
        if w.escalation_step < w.policy.escalation_steps and current != LEADERSHIP:
            up = next_step(current)
            out.append(
                DueEscalation(w.id, "escalate", current, up, step_node(w.route_region, up), w.ack_due_at,
                              now + lp.acknowledge_within)
            )
        else:
            out.append(
                DueEscalation(w.id, "remind", current, current, w.route_region, w.ack_due_at,
                              now + lp.remind_every)
            )
    return out
