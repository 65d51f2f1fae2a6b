"""The fields of a record that rules read (docs/rules-language.md#fields), for an engine.

:meth:`RecordFields.fields` builds every field a rule may test (a firing's words need them all);
:meth:`RecordFields.light` only those the rules watching the record's kind test or key on before they
fire — most records fire nothing, and the region's tiers are looked up once per region, not per record.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from domain.records import Record
from domain.regions import TIERS, ancestors
from rules.engine.conditions import referenced_fields
from rules.engine.matching import Plan
from rules.engine.protocol import RulebookLike
from rules.engine.windows import seconds
from rules.language.model import Rule

__all__ = ["RecordFields"]


@lru_cache(maxsize=65536)
def _tiers(region: str) -> dict[str, str]:
    return ancestors(region)


_COMMON = ("kind", "source", "id", "at", "region")
_TIER_NAMES = frozenset(t.value for t in TIERS)


class _Needs:
    """The fields the rules watching one record kind test or key on before they fire (see
    :meth:`RecordFields.light`): attributes, tiers, common fields, and whether ``periods``."""

    __slots__ = ("attrs", "common", "periods", "regions", "tiers")

    def __init__(self, attrs: tuple[str, ...], tiers: tuple[str, ...], common: tuple[str, ...], periods: bool) -> None:
        self.attrs, self.tiers, self.common, self.periods = attrs, tiers, common, periods
        self.regions: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {}
        """region → the codes of the needed tiers it has, and the needed tiers it lacks (those are read
        from the record's attribute of that name): looked up once per region, not per record."""

    def region(self, region: str) -> tuple[dict[str, str], tuple[str, ...]]:
        """:attr:`regions` for ``region``, worked out and remembered."""
        anc = _tiers(region)
        got = ({n: anc[n] for n in self.tiers if anc.get(n) is not None},
               tuple(n for n in self.tiers if anc.get(n) is None))
        if len(self.regions) >= 65536:
            self.regions.clear()
        self.regions[region] = got
        return got


class RecordFields:
    """Builds the fields of records for the rules of one rulebook (an engine's base)."""

    def __init__(self, rules: Sequence[Rule], plan: Plan, rulebook: RulebookLike) -> None:
        calendars = self.calendars = rulebook.calendars
        self.periods_kinds = plan.periods_kinds
        self._periods: dict[int, tuple[str, ...]] = {}
        # The fields each watched kind's records need before any rule fires: what its checks test, the
        # windows' keys and summed or distinct fields, the joins. A firing builds every field (`fields`).
        needs: dict[str, set[str]] = {kind: set() for kind in plan.checks}
        for kind, checks in plan.checks.items():
            for _, cond in checks:
                needs[kind] |= referenced_fields(cond)
        for rule in rules:
            for step in rule.steps:
                extra = set(rule.join)
                if rule.window is not None:
                    extra.update(rule.window.by)
                    if rule.window.aggregate.field:
                        extra.add(rule.window.aggregate.field)
                needs.setdefault(step.record, set()).update(extra)
        self._needs: dict[str, _Needs] = {}
        for kind, names in needs.items():
            names.discard("periods")
            self._needs[kind] = _Needs(
                tuple(sorted(n for n in names if n not in _TIER_NAMES and n not in _COMMON)),
                tuple(sorted(n for n in names if n in _TIER_NAMES)),
                tuple(n for n in _COMMON if n in names),
                kind in self.periods_kinds and calendars is not None,
            )

    def fields(self, r: Record, t: float | None = None) -> dict[str, Any]:
        """Every field a rule may test (docs/rules-language.md#fields): the record's own, common ones, tiers, periods
        (``t``: ``r.at`` in epoch seconds, if known)."""
        f = {k: v for k, v in r.attributes.items() if v is not None}
        f.update(_tiers(r.region))
        f["kind"], f["source"], f["id"], f["at"], f["region"] = r.kind, r.source, r.id, r.at, r.region
        if r.kind in self.periods_kinds and self.calendars is not None:
            f["periods"] = self._periods_at(r, t)
        return f

    def _periods_at(self, r: Record, t: float | None) -> tuple[str, ...]:
        day = int(((seconds(r.at) if t is None else t) + 28800) // 86400)
        got = self._periods.get(day)
        if got is None:
            assert self.calendars is not None
            got = self._periods[day] = tuple(self.calendars.periods_at(r.at))
        return got

    def carries(self, kind: str, names: Sequence[str]) -> bool:
        """Whether :meth:`light` of a ``kind`` record holds each of ``names`` whenever :meth:`fields`
        does, with the same value."""
        need = self._needs.get(kind)
        return need is not None and all(n in need.attrs or n in need.tiers or n in need.common for n in names)

    def light(self, r: Record, t: float) -> dict[str, Any]:
        """The fields of :meth:`fields` that the rules watching ``r.kind`` test or key on before they
        fire (the same values: a tier code over an attribute of its name, the common fields over both)."""
        need = self._needs.get(r.kind)
        if need is None:
            return {}
        a = r.attributes
        if need.tiers:
            region = r.region
            got = need.regions.get(region)
            if got is None:
                got = need.region(region)
            f: dict[str, Any] = got[0].copy()
            for n in got[1]:
                v = a.get(n)
                if v is not None:
                    f[n] = v
        else:
            f = {}
        for n in need.attrs:
            v = a.get(n)
            if v is not None:
                f[n] = v
        if need.common:
            for n in need.common:
                f[n] = getattr(r, n)
        if need.periods:
            f["periods"] = self._periods_at(r, t)
        return f
