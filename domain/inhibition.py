"""Inhibition (pure): while a warning of a source rule (a district cluster, say) is open for a region, the
notifications of warnings of its target rules in that region's subtree, at or below a level, are held
and summarised in the source's own message instead of sent one by one.

Declared in the escalation policy (``inhibitions`` in ``escalation.yaml``) or derived from the rulebook: a
chained cluster rule inhibits the rules whose warnings it takes (``rules.language.inhibitions``), merged
here with the declared ones (:func:`merge_inhibitions`: a declared one for the same pair wins, and
``enabled: false`` switches a default off). The store holds and releases the rows
(``integrations.store.inhibition``); a hold ends when its source warning is resolved.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.messages import N_, Message
from domain.regions import is_within
from domain.warnings import Level


class Inhibition(BaseModel):
    """While a warning of ``source`` is open, warnings of ``targets`` (glob patterns on rule ids) in its
    region's subtree from ``min_level`` up to ``max_level`` are not notified one by one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="Rule id of the inhibiting warning, e.g. `district-cluster`.")
    targets: tuple[str, ...] = Field(min_length=1, description="Rule id patterns of the inhibited warnings.")
    max_level: Level = Field(default=Level.orange, description="Inhibited at this level and below.")
    min_level: Level = Field(default=Level.blue, description="Inhibited at this level and above.")
    enabled: bool = Field(default=True, description="False: holds nothing, and switches off the default "
                          "inhibitions of the same source over the targets it names.")

    @model_validator(mode="after")
    def _levels_in_order(self) -> Inhibition:
        if self.min_level.rank > self.max_level.rank:
            raise ValueError(Message(N_("min_level {low} 高于 max_level {high}"), low=self.min_level.value,
                                     high=self.max_level.value))
        return self

    def names(self, rule: str) -> bool:
        """True if one of ``targets`` matches ``rule`` (whatever ``enabled`` says)."""
        return any(fnmatch.fnmatchcase(rule, pattern) for pattern in self.targets)

    def holds(self, *, source_rule: str, source_region: str, rule: str, region: str, level: str) -> bool:
        """True if an open warning of ``source_rule`` in ``source_region`` inhibits a warning of ``rule``
        in ``region`` at ``level``."""
        return (self.enabled and source_rule == self.source and rule != self.source and self.names(rule)
                and is_within(region, source_region)
                and self.min_level.rank <= Level(level).rank <= self.max_level.rank)


def merge_inhibitions(defaults: Iterable[Inhibition], declared: Iterable[Inhibition]) -> tuple[Inhibition, ...]:
    """The declared inhibitions, then each default one narrowed to the targets no declared inhibition of
    the same source names: for a (source, target rule) pair the declared entry wins, and one with
    ``enabled: false`` switches the default off. Idempotent (merging the result again changes nothing),
    since the merged defaults name their pairs too."""
    out = list(declared)
    for default in defaults:
        kept = tuple(t for t in default.targets
                     if not any(d.source == default.source and d.names(t) for d in out))
        if kept:
            out.append(default.model_copy(update={"targets": kept}))
    return tuple(out)


@dataclass(frozen=True)
class OpenSource:
    """An open warning that may inhibit others: its id, rule and region."""

    id: int
    rule: str
    region: str


def inhibitor(inhibitions: Iterable[Inhibition], sources: Iterable[OpenSource], *, rule: str, region: str,
              level: str) -> OpenSource | None:
    """The oldest open source warning inhibiting a warning of ``rule`` in ``region`` at ``level``, or None."""
    rules = [i for i in inhibitions if i.enabled]
    for source in sorted(sources, key=lambda s: s.id):
        if any(i.holds(source_rule=source.rule, source_region=source.region, rule=rule, region=region,
                       level=level) for i in rules):
            return source
    return None
