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
from typing import Any

from domain.warnings import Firing, Level, fingerprint, made_firing
from rules.engine.explain import group_of, region_of
from rules.language.model import Rule

__all__ = ["quiet_window_firing"]


def quiet_window_firing(rule: Rule, level: Level, quiet: Callable[[str, Level], bool] | None, r: Any,
                        f: Mapping[str, Any], values: dict[str, Any], version: str) -> Firing | None:
    """The firing of window ``rule`` at ``level`` on record ``r`` (``f``: its light fields, which must
    hold every ``fingerprint_fields`` name the full fields hold) when ``quiet`` says it folds away
    without its words, else ``None``. ``values``: the aggregate, already plain."""
    if quiet is None:
        return None
    group = group_of(rule, f)
    fp = fingerprint(rule.id, group)
    if not quiet(fp, level):
        return None
    where: dict[str, Any] = {n: f.get(n) for n in rule.fingerprint_fields}
    where["region"] = r.region
    return made_firing(fp, rule=rule.id, level=level, at=r.at, group=group, region=region_of(rule, where),
                       records=(r.ref,), explanation="", summary="", title=rule.title, values=values,
                       rulebook_version=version)

