"""Building a :class:`~domain.warnings.Firing`: its group, region, summary and a plain-words explanation.

The explanation names the rule, the values that crossed the thresholds of the level it fired at, and
the records, e.g.
``规则 collective-petition（集体访）：people=57 ≥ 50 → 橙色（严重）；记录：sim/123``.
A window rule with a baseline also states its samples and what follows from them
(:func:`rules.engine.baseline_step.run_baseline`): ``基线：前 4 个同期样本（每隔 7d）[1, 1, 1, 1] → 期望 1，离散 0，
倍数 12，标准分 11``, numbers to 2 decimals.

One language: the explanation is a :class:`domain.messages.Message` (Chinese, the text stored with the
warning) whose parts are Messages too, so a layer showing a fresh firing can render it in English
through the catalogue (``integrations.i18n.translate``). Field names, values and operators stay as the
rule file writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from domain.messages import N_, Message, joined
from domain.regions import TIERS
from domain.warnings import Firing, Level, fingerprint, made_firing
from rules.language.model import AnyOf, Condition, FieldTest, NotOf, Op, Rule
from rules.language.templates import render

__all__ = ["describe", "duration", "firing", "firing_from_json", "firing_to_json", "group_of", "region_of",
           "tested", "tier_region", "window_reason"]

_SYMBOL = {
    Op.eq: "=", Op.ne: "≠", Op.gt: ">", Op.gte: "≥", Op.lt: "<", Op.lte: "≤", Op.in_: "∈",
    Op.not_in: "∉", Op.contains: "∋", Op.matches: "~", Op.exists: "exists",
}
_FINEST_FIRST = tuple(t.value for t in reversed(TIERS))
AND = Message(N_(" 且 "))
OR = Message(N_(" 或 "))
SEMICOLON = Message(N_("；"))


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def duration(td: timedelta) -> str:
    """A duration as rule files write it: ``7d``, ``24h``, ``90m``, ``30s``."""
    secs = int(td.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs % size == 0 and secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def describe(condition: Condition | None, fields: Mapping[str, Any]) -> list[str]:
    """Each leaf test of ``condition`` in words with the actual value, e.g. ``people=57 ≥ 50``."""
    if condition is None:
        return []
    out: list[str] = []
    for term in condition.terms:
        if isinstance(term, FieldTest):
            actual = fields.get(term.field)
            if term.op is Op.exists:
                said = N_("{field} 存在") if actual is not None else N_("{field} 缺失")
                out.append(Message(said, field=term.field))
            else:
                out.append(f"{term.field}={_show(actual)} {_SYMBOL[term.op]} {_show(term.value)}")
        elif isinstance(term, AnyOf):
            parts = [joined(describe(o, fields), AND) or "true" for o in term.options]
            out.append(Message(N_("（{options}）"), options=joined(parts, OR)))
        elif isinstance(term, NotOf):
            out.append(Message(N_("非（{condition}）"), condition=joined(describe(term.condition, fields), AND)))
    return out


def group_of(rule: Rule, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fingerprint's group: the values of ``group_by`` (or its default) in ``fields``."""
    return {name: _plain(fields.get(name)) for name in rule.fingerprint_fields}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def region_of(rule: Rule, fields: Mapping[str, Any]) -> str:
    """The ancestor code at the finest tier among the fingerprint fields, else the record's region."""
    tier = tier_region(rule, fields)
    return str(fields["region"]) if tier is None else tier


def tier_region(rule: Rule, fields: Mapping[str, Any]) -> str | None:
    """The ancestor code at the finest tier among the fingerprint fields, if there is one (:func:`region_of`)."""
    names = set(rule.fingerprint_fields)
    for tier in _FINEST_FIRST:
        if tier in names and isinstance(fields.get(tier), str):
            return str(fields[tier])
    return None


def rule_label(rule_id: str, title: str) -> str:
    """How an explanation names its rule: ``id（title）``, or the id alone for a rule without a title."""
    return f"{rule_id}（{title}）" if title else rule_id


EXPLANATION = N_("规则 {rule}：{why} → {level}；记录：{records}")
"""How a warning explains itself: the rule (``id（title）``), why it fired, the level, the records."""


def firing(
    rule: Rule,
    level: Level,
    at: datetime,
    fields: Mapping[str, Any],
    records: Sequence[str],
    version: str,
    *,
    values: Mapping[str, Any] | None = None,
    reasons: Sequence[str] | Callable[[], Sequence[str]] = (),
    quiet: Callable[[str, Level], bool] | None = None,
) -> Firing:
    """The firing of ``rule`` at ``level`` at ``at``; ``fields`` are the firing record's (plus the
    aggregate for a window), ``values`` what crossed the thresholds, ``reasons`` the words for it (or
    what makes them, called only when they are used).

    ``quiet(fingerprint, level)`` says the firing will fold into an open warning at that level or
    higher, which keeps its own explanation and summary (:func:`domain.warnings.fold` reads a firing's
    words only when it opens or raises a warning); then they are not built and stay empty. A window
    that stays over its threshold fires on every record, and the words cost more than the rest."""
    vals = dict(values or {})
    group = group_of(rule, fields)
    fp = fingerprint(rule.id, group)
    if quiet is not None and quiet(fp, level):
        explanation = summary = ""
    else:
        name = rule_label(rule.id, rule.title)
        said = reasons() if callable(reasons) else reasons
        why = joined(said, SEMICOLON) if said else Message(N_("条件成立"))
        shown = list(records[:5]) + ([f"…(+{len(records) - 5})"] if len(records) > 5 else [])
        explanation = Message(EXPLANATION, rule=name, why=why,
                              level=Message(level.chinese), records=", ".join(shown))
        summary = render(rule.summary, {**fields, **vals}) if rule.summary else ""
    return made_firing(
        fp,
        rule=rule.id,
        level=level,
        at=at,
        group=group,
        region=region_of(rule, fields),
        records=tuple(records),
        explanation=explanation,
        summary=summary,
        title=rule.title,
        values={k: _plain(v) for k, v in vals.items()},
        rulebook_version=version,
    )


def firing_to_json(f: Firing) -> dict[str, Any]:
    """A firing as plain JSON."""
    return {"rule": f.rule, "level": f.level.value, "at": f.at.isoformat(), "group": f.group,
            "region": f.region, "records": list(f.records), "explanation": f.explanation,
            "summary": f.summary, "title": f.title, "values": f.values, "version": f.rulebook_version}


def firing_from_json(d: Mapping[str, Any]) -> Firing:
    """The inverse of :func:`firing_to_json`."""
    return Firing(rule=d["rule"], level=Level(d["level"]), at=datetime.fromisoformat(d["at"]),
                  group=dict(d["group"]), region=d["region"], records=tuple(d["records"]),
                  explanation=d["explanation"], summary=d["summary"], title=d["title"],
                  values=dict(d["values"]), rulebook_version=d["version"])


def tested(rule: Rule, li: int, f: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the fields the firing step's conditions and the level's ``when`` test."""
    return {n: f[n] for n in tested_names(rule, li) if n in f}


def tested_names(rule: Rule, li: int) -> tuple[str, ...]:
    """The fields :func:`tested` reports for ``rule`` at level index ``li``, in order, once each: worked
    out once per rule and level (a rule that groups by record opens a warning per record, and walking its
    conditions took a tenth of such a backtest)."""
    known = _TESTED.get((id(rule), li))
    if known is not None and known[0] is rule:
        return known[1]
    names = [t.field for step in rule.steps for t in step.where.walk()]
    when = rule.levels[li].when
    names += [t.field for t in when.walk()] if when is not None else []
    out = tuple(n for n in dict.fromkeys(names) if n != "at")
    if len(_TESTED) >= 4096:  # rulebooks reloaded in a long-lived process: their rules go
        _TESTED.clear()
    _TESTED[id(rule), li] = (rule, out)  # the rule held, so its id is not reused while remembered
    return out


_TESTED: dict[tuple[int, int], tuple[Rule, tuple[str, ...]]] = {}


def window_reason(span: str, by: Sequence[str]) -> Message:
    """The first reason of a window rule's firing: its span and, when it groups, its key fields."""
    if not by:
        return Message(N_("{span} 内"), span=span)
    return Message(N_("{span} 内，按 {by}"), span=span, by=", ".join(by))
