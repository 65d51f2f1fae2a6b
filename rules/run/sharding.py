"""Shard planning (docs/design.md#scale-path): which rule runs where, and in which layer.

The plan
--------
A rulebook's rules are split along two axes.

**Place.** A rule is *district-local* when every key that partitions its state names a tier at
district level or below (``district``, ``street``, ``community``, ``grid``, or ``region`` — a record's
own finest code): the window's ``by`` for a window rule, ``join`` for a sequence or absence, and the
fingerprint fields (``group_by`` or its default) for every rule, since a warning folds the firings of
one fingerprint. Then every record that can touch one window, one partial match or one warning lies in
one district, so the rule can run in one process per district, each seeing only that district's
records. Every other rule — keyed by person, by a non-tier field, by ``city`` or by nothing — runs on
the single *city shard*, which sees the whole city.

Records go to the shard of their district code (the region's ancestor at district tier); a record whose
region is above district level (a city-wide report) goes to the shard named by its own code, so
records that share a ``region`` key share a shard and records without a district tier join no
``district``/``street``/``community`` key, as in a single run.

**Layer.** Layer 0 holds the rules that watch no ``warning`` records. A rule that can take another
rule's warnings (:func:`rules.language.chaining.step_takes`) sits one layer after the highest layer it can
consume, so a layer needs only the warnings of the layers before it; the loader has already rejected
cycles. A rule may be district-local *and* in a later layer (``street-cluster``): it runs per district
on that district's warnings (a warning's district is that of its ``region``).

:func:`plan_shards` computes this; :mod:`rules.run.sharded` runs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from domain.messages import N_, Message
from domain.regions import Tier, ancestor, tier_of
from rules.language.chaining import step_takes
from rules.language.model import Rule

__all__ = ["LOCAL_KEYS", "Place", "RulePlan", "ShardPlan", "is_district_local", "kinds_watched", "plan_shards",
           "shard_of"]

Place = Literal["district", "city"]

LOCAL_KEYS = frozenset({"district", "street", "community", "grid", "region"})
"""Fields whose value lies inside one district: the tiers at district level or below, and ``region``."""


class _HasRules(Protocol):
    @property
    def rules(self) -> Sequence[Rule]: ...


@dataclass(frozen=True)
class RulePlan:
    """Where one rule runs: its place, its layer, and why."""

    rule: str
    place: Place
    layer: int
    reason: str


@dataclass(frozen=True)
class ShardPlan:
    """The plan of a rulebook: one :class:`RulePlan` per rule, in rulebook order."""

    rules: tuple[RulePlan, ...]

    @property
    def layers(self) -> int:
        """Number of layers (0 for an empty rulebook)."""
        return max((p.layer for p in self.rules), default=-1) + 1

    def ids(self, layer: int, place: Place) -> tuple[str, ...]:
        """Ids of the rules of ``layer`` that run at ``place``, in rulebook order."""
        return tuple(p.rule for p in self.rules if p.layer == layer and p.place == place)

    def of(self, rule_id: str) -> RulePlan:
        """The plan of one rule; ``KeyError`` if unknown."""
        for p in self.rules:
            if p.rule == rule_id:
                return p
        raise KeyError(rule_id)


def _partition_keys(rule: Rule) -> list[tuple[str, tuple[str, ...]]]:
    """Every key that partitions the rule's state, named for the reason text."""
    keys: list[tuple[str, tuple[str, ...]]] = []
    if rule.window is not None:
        keys.append(("window by", rule.window.by))
    if rule.kind in ("sequence", "absence"):
        keys.append(("join", rule.join))
    keys.append(("fingerprint", rule.fingerprint_fields))
    return keys


def is_district_local(rule: Rule) -> tuple[bool, str]:
    """Whether ``rule`` can run per district, and why (the first key that is not local, if any)."""
    for name, fields in _partition_keys(rule):
        if not LOCAL_KEYS.intersection(fields):
            shown = ", ".join(fields) or "-"
            return False, Message(N_("{key} [{fields}] 没有区县级或以下的层级"), key=name, fields=shown)
    return True, Message(N_("每个键都含区县级或以下的层级"))


def _layers(rules: Sequence[Rule]) -> dict[str, int]:
    """Layer of each rule: 0 without warning steps, else 1 + the highest layer it can consume."""
    producers = {r.id: [q for q in rules if any(step_takes(s, q) for s in r.steps)] for r in rules}
    layer: dict[str, int] = {}

    def depth(rule: Rule, seen: frozenset[str]) -> int:
        if rule.id in layer:
            return layer[rule.id]
        if rule.id in seen:  # a cycle: the loader rejects these; never loop on a hand-built list
            raise ValueError(Message(N_("规则 '{rule}' 可能消费它自己的预警"), rule=rule.id))
        got = 1 + max((depth(q, seen | {rule.id}) for q in producers[rule.id]), default=-1)
        layer[rule.id] = got
        return got

    for r in rules:
        depth(r, frozenset())
    return layer


def plan_shards(rulebook: _HasRules) -> ShardPlan:
    """The shard plan of ``rulebook`` (see the module docstring)."""
    rules = list(rulebook.rules)
    layer = _layers(rules)
    out = []
    for r in rules:
        local, why = is_district_local(r)
        out.append(RulePlan(r.id, "district" if local else "city", layer[r.id], why))
    return ShardPlan(tuple(out))


def shard_of(region: str) -> str:
    """The district shard of a record or warning region: its district code, or the code itself when
    it is above district level."""
    if tier_of(region).rank < Tier.district.rank:
        return region
    got = ancestor(region, Tier.district)
    assert got is not None
    return got


def kinds_watched(rules: Iterable[Rule]) -> frozenset[str]:
    """Record kinds some of ``rules`` watch."""
    return frozenset(s.record for r in rules for s in r.steps)
