"""Quiet window folds: a window over its threshold fires on every record of its key, and almost all of
those firings fold into the open warning of their fingerprint without raising it.

:func:`domain.warnings.fold` reads of such a firing only its fingerprint, time, records, values and
version, so :func:`quiet_window_firing` builds just that — from the record's light fields (the window's
key is among them), with no full field map, no region lookup beyond the group, no explanation or
summary — when the evaluator says the firing is quiet. Anything else (a firing that opens or raises a
warning, a ``group_by`` naming a field the light fields lack) gets ``None`` and takes the full path
(:func:`rules.engine.explain.firing`), which builds the same firing with its words.
``tests/rules/test_quiet.py`` holds the two paths equal, firing by firing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from domain.warnings import Firing, Level, fingerprint, made_firing
from rules.engine.explain import group_of, tier_region
from rules.engine.protocol import Absorb, Values
from rules.language.model import Rule

__all__ = ["quiet_window_firing"]


def quiet_window_firing(job: Any, level: Level, quiet: Callable[[str, Level], bool] | None, r: Any,
                        f: Mapping[str, Any], key: tuple[Any, ...], values: Values,
                        version: str, absorb: Absorb | None = None) -> Firing | Literal[True] | None:
    """The firing of ``job``'s window rule at ``level`` on record ``r`` (``f``: its light fields, which
    must hold every ``fingerprint_fields`` name the full fields hold; ``key``: its window key) when
    ``quiet`` says it folds away without its words, else ``None``. ``values``: the aggregate, plain (or
    what makes it: see :data:`rules.engine.protocol.Values`).
    Given ``absorb`` (asked instead of ``quiet``): ``True`` when it folded the firing into its warning
    itself, so no firing is made at all."""
    if quiet is None and absorb is None:
        return None
    rule = job.rule
    groups: dict[tuple[Any, ...], tuple[str, dict[str, Any], str | None]] | None = job.groups
    # The group, fingerprint and tier region follow from the key when the rule groups by its window's
    # `by` and the key is text (1, 1.0 and True are one key but three groups): remembered per key.
    known = None
    if groups is not None and (type(key[0]) is str if len(key) == 1 else all(type(v) is str for v in key)):
        known = groups.get(key)
        if known is None:
            if len(groups) >= _GROUPS:
                groups.clear()
            known = groups[key] = _group(rule, f)
    fp, group, tier = known or _group(rule, f)
    if absorb is not None:
        return True if absorb(fp, level, r.at, r.ref, values, version) else None
    if quiet is None or not quiet(fp, level):
        return None
    return made_firing(fp, rule=rule.id, level=level, at=r.at, group=group, region=r.region if tier is None else tier,
                       records=(r.ref,), explanation="", summary="", title=rule.title,
                       values=values() if callable(values) else values,
                       rulebook_version=version)


_GROUPS = 1 << 16


def _group(rule: Rule, f: Mapping[str, Any]) -> tuple[str, dict[str, Any], str | None]:
    """The fingerprint, group and tier region (:func:`rules.engine.explain.tier_region`) of a firing."""
    group = group_of(rule, f)
    return fingerprint(rule.id, group), group, tier_region(rule, {n: f.get(n) for n in rule.fingerprint_fields})
