"""Default inhibitions of chained cluster rules, derived from the rulebook (pure).

A cluster rule (a ``record: warning`` rule, docs/rules-language.md#chaining) stands for the warnings it
takes: while its warning is open for a region, the notifications of those rules' warnings in that
region's subtree are held and named in the cluster's own message (``domain.inhibition``). Which rules and
levels it takes is read from its ``where`` exactly as the chaining check reads it
(:func:`rules.language.chaining.taken_levels`), so the defaults follow the catalog when it changes.

Levels: a default holds only the levels the cluster takes, and none above the lowest level the cluster
itself can be — a warning more severe than its cluster is always notified on its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from domain.inhibition import Inhibition
from domain.warnings import Level
from rules.language.chaining import WARNING_KIND, taken_levels
from rules.language.model import Rule


def _held_levels(consumer: Rule, producer: Rule) -> list[Level]:
    """The producer's levels the consumer takes, up to the consumer's lowest level, lowest first."""
    ceiling = min(lv.rank for lv in consumer.emits)
    taken = set().union(*(taken_levels(step, producer) for step in consumer.steps))
    return sorted((lv for lv in taken if lv.rank <= ceiling), key=lambda lv: lv.rank)


def default_inhibitions(rules: Sequence[Rule]) -> tuple[Inhibition, ...]:
    """One inhibition per cluster rule and level range, over the rules whose warnings it takes (sorted
    ids, the cluster itself never among them). Sequence and absence rules that watch warnings get none:
    their warning's region need not contain the warnings they took."""
    out: list[Inhibition] = []
    for consumer in sorted(rules, key=lambda r: r.id):
        if consumer.record != WARNING_KIND:
            continue
        by_range: dict[tuple[Level, Level], list[str]] = defaultdict(list)
        for producer in rules:
            levels = [] if producer.id == consumer.id else _held_levels(consumer, producer)
            if levels:
                by_range[(levels[0], levels[-1])].append(producer.id)
        for (low, high), targets in sorted(by_range.items(), key=lambda kv: (kv[0][0].rank, kv[0][1].rank)):
            out.append(Inhibition(source=consumer.id, targets=tuple(sorted(targets)), min_level=low,
                                  max_level=high))
    return tuple(out)
