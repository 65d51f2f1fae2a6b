"""Release groups (issue 17): which rules live evaluation may release together, and held back by whom.

Live evaluation releases a record to a rule once every live source that can feed the rule has delivered
past the record's ``at`` (:mod:`domain.watermarks`). Releasing by one global bound makes a rule whose
kinds come from one department wait for the slowest department; releasing per rule would cost one pass
over the records per rule. The plan groups the rules instead:

- **Source groups.** A rule that takes no other rule's warnings is fed by the sources of its record kinds
  (``sources.yaml``: each source delivers one kind; several may deliver the same one). Rules fed by the
  same set of sources form one group, held back by exactly those sources: a group of one source (the
  ``serious-incident`` rule, fed by ``public-safety``) takes that source's records as soon as they are
  in. A kind that no declared source delivers (``grid_report``, written by the grid app; a kind some
  future source will deliver) may come from anywhere: its rules are held by every source (``sources``
  ``None``), as the global release did.
- **Chained groups.** A rule that can take other rules' warnings (:func:`rules.language.chaining.step_takes`)
  sits in a chained group with the other chained rules it is connected to (taking one another's warnings,
  in either direction). Its input is its own record kinds plus the ``warning`` records of the groups it
  consumes, each placed where a single run would have made it (:mod:`rules.run.shard_run` positions);
  it is held back by the union of the sources of everything upstream. The default rulebook's two
  cluster rules take the warnings of almost every rule, so they form one chained group held by every
  source: they wait, the rules they watch do not.

A group's rules keep rulebook order (absences due at once fire in rule order, as in a single run). The
plan is pure; live evaluation keeps one position and one engine state per group (docs/design.md,
"Live evaluation follows the sources' watermarks").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rules.language.chaining import WARNING_KIND, step_takes
from rules.language.model import Rule

__all__ = ["ANY_SOURCE", "ReleaseGroup", "ReleasePlan", "kind_sources", "plan_release", "single_group"]

ANY_SOURCE = "*"
"""Name of the group held by every source (its rules read a kind no declared source delivers)."""


@dataclass(frozen=True)
class ReleaseGroup:
    """Rules released together: what they read, who holds them back, whose warnings they take."""

    name: str
    """Stable while its sources are: the sources joined by ``+`` (``*``: every source); ``chain:`` and the
    first rule's id for a chained group. Live evaluation keys a group's position and state by it."""
    rules: tuple[str, ...]
    """Rule ids, in rulebook order."""
    kinds: frozenset[str]
    """Record kinds its rules read from the store (``warning`` excluded: those come from :attr:`consumes`)."""
    sources: frozenset[str] | None
    """The sources whose watermarks hold it back; ``None``: every source (as the global release)."""
    consumes: tuple[str, ...] = ()
    """Names of the groups whose warnings its rules may take (chained groups only), in plan order."""
    exports: bool = False
    """Whether a chained group consumes its warnings (then its firings' ``warning`` records are kept)."""

    @property
    def chained(self) -> bool:
        """True for a group that takes other groups' warnings."""
        return bool(self.consumes)

    @property
    def single_source(self) -> bool:
        """True when one source alone holds it back: its records are released as soon as they are in."""
        return self.sources is not None and len(self.sources) == 1


@dataclass(frozen=True)
class ReleasePlan:
    """The release groups of a rulebook: source groups first (by first rule), then chained groups."""

    groups: tuple[ReleaseGroup, ...]

    def group_of(self, rule_id: str) -> ReleaseGroup:
        """The group that holds ``rule_id``; ``KeyError`` if none does."""
        for g in self.groups:
            if rule_id in g.rules:
                return g
        raise KeyError(rule_id)

    def get(self, name: str) -> ReleaseGroup:
        """The group called ``name``; ``KeyError`` if none is."""
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)


def kind_sources(declared: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """``(source name, kind)`` pairs (a ``sources.yaml``'s sources) as kind → the sources delivering it."""
    out: dict[str, set[str]] = {}
    for name, kind in declared:
        out.setdefault(kind, set()).add(name)
    return {k: frozenset(v) for k, v in out.items()}


def _kinds(rule: Rule) -> frozenset[str]:
    return frozenset(s.record for s in rule.steps if s.record != WARNING_KIND)


def _sources(kinds: Iterable[str], by_kind: Mapping[str, frozenset[str]]) -> frozenset[str] | None:
    out: set[str] = set()
    for k in kinds:
        if k not in by_kind:
            return None  # delivered by no declared source: anyone may hold it
        out |= by_kind[k]
    return frozenset(out)


def _union(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    return None if a is None or b is None else a | b


def _name(sources: frozenset[str] | None) -> str:
    return ANY_SOURCE if sources is None else "+".join(sorted(sources))


def plan_release(rules: Sequence[Rule], by_kind: Mapping[str, frozenset[str]]) -> ReleasePlan:
    """The release plan of ``rules`` given each kind's sources (:func:`kind_sources`); see the module."""
    producers = {r.id: [q.id for q in rules if q.id != r.id and any(step_takes(s, q) for s in r.steps)]
                 for r in rules}
    chained = [r for r in rules if producers[r.id]]
    chained_ids = {r.id for r in chained}
    # Source groups: rules fed by the same sources, in rulebook order of their first rule.
    source_groups: dict[str, list[Rule]] = {}
    sources_of: dict[str, frozenset[str] | None] = {}
    for r in rules:
        if r.id in chained_ids:
            continue
        s = _sources(_kinds(r), by_kind)
        source_groups.setdefault(_name(s), []).append(r)
        sources_of[_name(s)] = s
    home = {r.id: name for name, members in source_groups.items() for r in members}
    # Chained groups: connected components of the chained rules (an edge where one takes the other's warnings).
    root = {r.id: r.id for r in chained}

    def find(rid: str) -> str:
        while root[rid] != rid:
            rid = root[rid]
        return rid

    for r in chained:
        for p in producers[r.id]:
            if p in chained_ids:
                root[find(p)] = find(r.id)
    members: dict[str, list[Rule]] = {}
    for r in chained:  # rulebook order
        members.setdefault(find(r.id), []).append(r)
    chained_groups: list[ReleaseGroup] = []
    exported: set[str] = set()
    for rs in members.values():
        ids = {r.id for r in rs}
        upstream = sorted({home[p] for r in rs for p in producers[r.id] if p not in ids},
                          key=list(source_groups).index)
        exported.update(upstream)
        sources: frozenset[str] | None = frozenset()
        for r in rs:
            sources = _union(sources, _sources(_kinds(r), by_kind))
        for name in upstream:
            sources = _union(sources, sources_of[name])
        kinds = frozenset().union(*(_kinds(r) for r in rs))
        chained_groups.append(ReleaseGroup(f"chain:{rs[0].id}", tuple(r.id for r in rs), kinds, sources,
                                           tuple(upstream)))
    plain = [ReleaseGroup(name, tuple(r.id for r in rs), frozenset().union(*(_kinds(r) for r in rs)),
                          sources_of[name], exports=name in exported) for name, rs in source_groups.items()]
    return ReleasePlan((*plain, *chained_groups))


def single_group(rules: Sequence[Rule]) -> ReleasePlan:
    """One group of every rule held by every source: the global release (what a checkpoint written before
    release groups continues as, until the next rulebook version rebuilds its state per group)."""
    kinds = frozenset().union(*(_kinds(r) for r in rules)) if rules else frozenset()
    return ReleasePlan((ReleaseGroup(ANY_SOURCE, tuple(r.id for r in rules), kinds, None),))
