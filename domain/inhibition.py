"""Inhibition (pure): while a warning of a source rule (a district cluster, say) is open for a region, the
notifications of warnings of its target rules in that region's subtree, at or below a level, are held
and summarised in the source's own message instead of sent one by one.

Declared in the escalation policy (``inhibitions`` in ``escalation.yaml``). The store holds and releases
the rows (``integrations.store.inhibition``); a hold ends when its source warning is resolved.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from domain.regions import is_within
from domain.warnings import Level


class Inhibition(BaseModel):
    """While a warning of ``source`` is open, warnings of ``targets`` (glob patterns on rule ids) in its
    region's subtree at or below ``max_level`` are not notified one by one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="Rule id of the inhibiting warning, e.g. `district-cluster`.")
    targets: tuple[str, ...] = Field(min_length=1, description="Rule id patterns of the inhibited warnings.")
    max_level: Level = Field(default=Level.orange, description="Inhibited at this level and below.")

    def holds(self, *, source_rule: str, source_region: str, rule: str, region: str, level: str) -> bool:
        """True if an open warning of ``source_rule`` in ``source_region`` inhibits a warning of ``rule``
        in ``region`` at ``level``."""
        return (source_rule == self.source and rule != self.source
                and any(fnmatch.fnmatchcase(rule, pattern) for pattern in self.targets)
                and is_within(region, source_region) and Level(level).rank <= self.max_level.rank)


@dataclass(frozen=True)
class OpenSource:
    """An open warning that may inhibit others: its id, rule and region."""

    id: int
    rule: str
    region: str


def inhibitor(inhibitions: Iterable[Inhibition], sources: Iterable[OpenSource], *, rule: str, region: str,
              level: str) -> OpenSource | None:
    """The oldest open source warning inhibiting a warning of ``rule`` in ``region`` at ``level``, or None."""
    rules = list(inhibitions)
    for source in sorted(sources, key=lambda s: s.id):
        if any(i.holds(source_rule=source.rule, source_region=source.region, rule=rule, region=region,
                       level=level) for i in rules):
            return source
    return None
