"""Responders directory: who answers for which region node, how to reach them, and when they are on duty.

Read from YAML (``integrations/data/responders.yaml``, the ``responders`` setting). Every node of the
hierarchy may list people and duty units; a node that lists nobody (or nobody on duty right now) passes
its warnings to the next tier up, and above the city stands the city's duty leadership, which must not be
empty: a warning always reaches someone.

Duty units with a ``unit`` kind (``petition-office``, ``labour-bureau``…) are specialists: they are not
told about every warning of their node, only those an escalation-policy override sends them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.beijing import BEIJING
from domain.escalation import LEADERSHIP, Step
from domain.messages import N_, Message
from domain.regions import TIERS, Tier, ancestor, tier_of, validate_code

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ChannelAddress(BaseModel):
    """One way to reach a responder: a channel name (``file``, ``webhook``, ``email``…) and its address."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    address: str = ""


class DutySlot(BaseModel):
    """A weekly on-duty slot in Beijing time; ``to`` before ``from`` runs past midnight."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    days: tuple[str, ...] = WEEKDAYS
    start: time = Field(default=time(0, 0), alias="from")
    end: time = Field(default=time(23, 59, 59), alias="to")

    @field_validator("days")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in value if d not in WEEKDAYS]
        if bad:
            raise ValueError(Message(N_("未知的星期 {bad}；请用 {known}"), bad=bad, known=", ".join(WEEKDAYS)))
        return value

    def covers(self, at: datetime) -> bool:
        """True if ``at`` (timezone-aware) falls in this slot."""
        local = at.astimezone(BEIJING)
        day, clock = WEEKDAYS[local.weekday()], local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return day in self.days and self.start <= clock <= self.end
        # Overnight slot: the evening belongs to the listed day, the small hours to the day after it.
        yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
        return (day in self.days and clock >= self.start) or (yesterday in self.days and clock <= self.end)


class Responder(BaseModel):
    """A person or duty unit at one node, with channels and an optional rota (none = always on duty)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    name: str
    kind: Literal["person", "unit"] = "person"
    unit: str | None = Field(default=None, description="Specialist unit kind, e.g. `petition-office`.")
    node: str = Field(default="", description="Region code this responder answers for (set at load).")
    channels: tuple[ChannelAddress, ...] = Field(min_length=1)
    on_duty: tuple[DutySlot, ...] = ()

    def is_on_duty(self, at: datetime) -> bool:
        """True if the rota (if any) covers ``at``."""
        return not self.on_duty or any(slot.covers(at) for slot in self.on_duty)


class NodeEntry(BaseModel):
    """The responders of one region node."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    responders: tuple[Responder, ...] = ()


class ResponderDirectory(BaseModel):
    """Every node's responders, and the city's duty leadership above them all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    city: str
    leadership: tuple[Responder, ...] = Field(min_length=1)
    nodes: dict[str, NodeEntry] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _place(cls, data: Any) -> Any:
        # Each responder learns its node from where it is listed, so the YAML says it once.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        city = str(data.get("city", ""))
        data["leadership"] = [{**r, "node": city} for r in data.get("leadership") or []]
        nodes: dict[str, Any] = {}
        for code, entry in (data.get("nodes") or {}).items():
            entry = dict(entry or {})
            entry["responders"] = [{**r, "node": str(code)} for r in entry.get("responders") or []]
            nodes[str(code)] = entry
        data["nodes"] = nodes
        return data

    @model_validator(mode="after")
    def _check(self) -> ResponderDirectory:
        validate_code(self.city)
        if tier_of(self.city) is not Tier.city:
            raise ValueError(Message(N_("city {city} 不是市级地区代码"), city=self.city))
        seen: set[str] = set()
        for responder in self.everyone():
            validate_code(responder.node)
            if ancestor(responder.node, Tier.city) != self.city:
                raise ValueError(Message(N_("处置人员 {id} 所在节点 {node} 不在城市 {city} 之内"), id=responder.id,
                                         node=responder.node, city=self.city))
            if responder.id in seen:
                raise ValueError(Message(N_("处置人员 id {id} 重复"), id=responder.id))
            seen.add(responder.id)
        return self

    @classmethod
    def load(cls, path: Path) -> ResponderDirectory:
        """Read the directory YAML (safe loader)."""
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls.model_validate(data)

    def everyone(self) -> Iterable[Responder]:
        """The leadership, then every node's responders."""
        yield from self.leadership
        for entry in self.nodes.values():
            yield from entry.responders

    def responder(self, responder_id: str) -> Responder | None:
        """The responder with this id, or ``None``."""
        return next((r for r in self.everyone() if r.id == responder_id), None)

    def is_leadership(self, responder_id: str) -> bool:
        """True if the responder belongs to the city's duty leadership."""
        return any(r.id == responder_id for r in self.leadership)

    def at_node(self, code: str) -> tuple[Responder, ...]:
        """Responders listed at exactly this node."""
        entry = self.nodes.get(code)
        return entry.responders if entry else ()


def _chain(code: str) -> list[str]:
    """``code`` and its ancestors, finest first."""
    here = tier_of(code)
    out = []
    for tier in reversed(TIERS[: here.rank + 1]):
        anc = ancestor(code, tier)
        if anc is not None and anc not in out:
            out.append(anc)
    return out


def recipients_for(
    code: str, tier: Step | str, directory: ResponderDirectory, at: datetime, *, unit: str | None = None
) -> list[Responder]:
    """Who is told about a warning routed to node ``code`` at ``tier``, at time ``at``.

    General responders (``unit=None``): the node's on-duty responders; when it has none, the next node up,
    and so on; the city's duty leadership last — never nobody. With ``unit`` (an override's specialist
    unit): the nearest such unit at or above the node, or an empty list when the city has none.
    """
    if tier == LEADERSHIP:
        return list(directory.leadership) if unit is None else []
    node = ancestor(code, Tier(tier)) or code
    for candidate in _chain(node):
        found = [r for r in directory.at_node(candidate) if r.unit == unit and r.is_on_duty(at)]
        if found:
            return found
    # Leadership has no rota check: it is the last resort and always reachable.
    return list(directory.leadership) if unit is None else []
