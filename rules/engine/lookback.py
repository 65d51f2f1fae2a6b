"""How far back a rulebook's state reaches: what to replay to rebuild it after a rule edit (issue 17).

A new rulebook version cannot continue the old version's state (its windows, partial sequences, pending
absences and baseline history were built by other rules). It is rebuilt by feeding the new rules the
stored records of its *lookback*, ending where live evaluation stands. A rule's own reach is:

- simple: nothing (it holds no state);
- window: the window's ``within``; with a baseline ``samples·every + within``;
- sequence and absence: their ``within`` (a partial sequence or a pending ``after`` older than that
  can never complete or fire at a later instant).

A chained rule (it watches ``warning`` records: cluster rules) needs its producers' warnings of its own
reach, and each of those warnings needs its producer's state of the producer's reach before it: the
producer's records are needed from ``reach(consumer) + reach(producer)`` back, and so on up the chain
(chains are acyclic: :func:`rules.language.chaining.find_cycles`). The lookback is per record kind, so a
kind only short rules watch is not replayed for the months a baseline over another kind needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from rules.language.chaining import WARNING_KIND, step_takes
from rules.language.model import Rule

__all__ = ["ahead", "kind_lookbacks", "reach"]


def reach(rule: Rule) -> timedelta:
    """How far back from a record's ``at`` the rule's own state can matter (see the module)."""
    if rule.window is not None:
        span = rule.window.within
        return span + rule.baseline.horizon if rule.baseline is not None else span
    if rule.within is not None:  # sequence, absence
        return rule.within
    return timedelta(0)


def ahead(rules: Sequence[Rule]) -> dict[str, timedelta]:
    """Per rule id: how far before the end its *firings* must be reproduced for the rules that take its
    warnings (0: none takes them) — the replay reproduces them faithfully from there on."""
    consumers = {p.id: [c for c in rules if any(step_takes(s, p) for s in c.steps)] for p in rules}
    memo: dict[str, timedelta] = {}

    def of(rule: Rule, path: frozenset[str]) -> timedelta:
        if rule.id in memo:
            return memo[rule.id]
        # ``path`` guards a cycle the loader would have rejected: such a rulebook never gets here.
        needs = [of(c, path | {rule.id}) + reach(c) for c in consumers[rule.id] if c.id not in path]
        memo[rule.id] = max(needs, default=timedelta(0))
        return memo[rule.id]

    return {r.id: of(r, frozenset()) for r in rules}


def kind_lookbacks(rules: Sequence[Rule]) -> dict[str, timedelta]:
    """Per stored record kind some rule watches: how far back to replay it to rebuild the rules' state
    (``warning`` records are not stored: the replay makes them again as the producers fire)."""
    before = ahead(rules)
    out: dict[str, timedelta] = {}
    for rule in rules:
        need = before[rule.id] + reach(rule)
        for step in rule.steps:
            if step.record != WARNING_KIND:
                out[step.record] = max(out.get(step.record, timedelta(0)), need)
    return out
