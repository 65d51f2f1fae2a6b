"""The daily situation report (日报) of one Asia/Shanghai day, computed from plain views.

Counts are of distinct warnings: a warning escalated twice on a day counts once as escalated that day.
A warning is counted at its current level (the highest it reached). Its district is its region's
ancestor at the district tier; a warning whose region is the city itself is counted under the city.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from domain.regions import RegionDirectory, Tier, ancestor
from domain.situation.sla import SlaSummary, sla_summary
from domain.situation.views import AuditView, Day, WarningView, local_date
from domain.warnings import LEVELS, Level

TREND_DAYS = 30
"""The trend covers the report's day and the 29 before it."""
WEEK_DAYS = 7
TOP_RULES = 10
SEVERE = (Level.red, Level.orange)


@dataclass
class Counts:
    """Distinct warnings opened, acknowledged, escalated and resolved."""

    opened: int = 0
    acknowledged: int = 0
    escalated: int = 0
    resolved: int = 0


@dataclass(frozen=True)
class DistrictCounts:
    """One district's counts, with its code and readable name."""

    code: str
    name: str
    counts: Counts


@dataclass(frozen=True)
class RuleCount:
    """A rule and how many warnings it opened."""

    rule: str
    title: str
    count: int


@dataclass(frozen=True)
class TrendDay:
    """Warnings opened on one day, per level."""

    date: date
    opened: dict[Level, int]


@dataclass(frozen=True)
class OpenWarning:
    """An open red or orange warning as it stood when the report looks (``as_of``)."""

    id: int
    level: Level
    rule: str
    title: str
    region: str
    region_path: str
    opened_at: datetime
    escalation_step: int
    acknowledged_at: datetime | None
    ack_due_at: datetime | None
    ack_state: str
    """``acknowledged``, ``overdue`` (deadline passed, not acknowledged) or ``waiting``."""


@dataclass(frozen=True)
class SituationReport:
    """Everything the 日报 shows. ``as_of`` is the end of the day, or ``generated_at`` if earlier."""

    day: date
    generated_at: datetime
    as_of: datetime
    open_severe: list[OpenWarning]
    totals: Counts
    by_level: dict[Level, Counts]
    by_district: list[DistrictCounts]
    open_by_level: dict[Level, int]
    sla: SlaSummary
    top_rules_day: list[RuleCount]
    top_rules_week: list[RuleCount]
    trend: list[TrendDay] = field(default_factory=list)


def district_of(region: str) -> str:
    """The district ancestor of ``region``; the city's own code for a city-level region."""
    return ancestor(region, Tier.district) or ancestor(region, Tier.city) or region


def _first(audits: Iterable[AuditView], action: str) -> dict[int, datetime]:
    out: dict[int, datetime] = {}
    for a in audits:
        if a.action == action and (a.warning_id not in out or a.at < out[a.warning_id]):
            out[a.warning_id] = a.at
    return out


def _by(day: Day, cutoff: datetime, at: datetime | None) -> bool:
    return at is not None and day.contains(at) and at < cutoff


def _lifecycle(
    warnings: Sequence[WarningView], audits: Sequence[AuditView], day: Day, cutoff: datetime
) -> dict[int, set[str]]:
    """For each warning, which of opened/acknowledged/escalated/resolved happened during ``day``."""
    acked, resolved = _first(audits, "acknowledged"), _first(audits, "resolved")
    escalated_today = {a.warning_id for a in audits
                       if a.action == "escalated" and day.contains(a.at) and a.at < cutoff}
    out: dict[int, set[str]] = {}
    for w in warnings:
        # The warning's own timestamps are authoritative; the audit log fills in when they are missing.
        events = {
            "opened": day.contains(w.opened_at),
            "acknowledged": _by(day, cutoff, w.acknowledged_at or acked.get(w.id)),
            "escalated": w.id in escalated_today,
            "resolved": _by(day, cutoff, w.resolved_at or resolved.get(w.id)),
        }
        out[w.id] = {name for name, happened in events.items() if happened}
    return out


def _add(counts: Counts, events: set[str]) -> None:
    for name in events:
        setattr(counts, name, getattr(counts, name) + 1)


def _top_rules(warnings: Iterable[WarningView], first: Day, last: Day) -> list[RuleCount]:
    counter: Counter[str] = Counter()
    titles: dict[str, str] = {}
    for w in warnings:
        if first.start <= w.opened_at < last.end:
            counter[w.rule] += 1
            titles[w.rule] = titles.get(w.rule) or w.title
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_RULES]
    return [RuleCount(rule, titles[rule] or rule, n) for rule, n in ranked]


def _trend(warnings: Iterable[WarningView], day: Day) -> list[TrendDay]:
    first = day.minus(TREND_DAYS - 1)
    per_day: dict[date, dict[Level, int]] = defaultdict(lambda: dict.fromkeys(LEVELS, 0))
    for w in warnings:
        if first.start <= w.opened_at < day.end:
            per_day[local_date(w.opened_at)][w.level] += 1
    days = [first.date + timedelta(days=i) for i in range(TREND_DAYS)]
    return [TrendDay(d, dict(per_day[d]) if d in per_day else dict.fromkeys(LEVELS, 0)) for d in days]


def is_open_at(w: WarningView, cutoff: datetime) -> bool:
    """True if ``w`` had been opened and was not yet resolved just before ``cutoff``."""
    return w.opened_at < cutoff and (w.resolved_at is None or w.resolved_at >= cutoff)


def _open_severe(
    warnings: Iterable[WarningView], audits: Sequence[AuditView], cutoff: datetime, regions: RegionDirectory
) -> list[OpenWarning]:
    later = Counter(a.warning_id for a in audits if a.action == "escalated" and a.at >= cutoff)
    out: list[OpenWarning] = []
    for w in warnings:
        if w.level not in SEVERE or not is_open_at(w, cutoff):
            continue
        acked = w.acknowledged_at if w.acknowledged_at and w.acknowledged_at < cutoff else None
        overdue = acked is None and w.ack_due_at is not None and w.ack_due_at < cutoff
        state = "acknowledged" if acked else "overdue" if overdue else "waiting"
        out.append(OpenWarning(
            id=w.id, level=w.level, rule=w.rule, title=w.title or w.rule, region=w.region,
            region_path=regions.path(w.region), opened_at=w.opened_at,
            # The current step less the escalations since the cutoff: the step as it stood then.
            escalation_step=max(0, w.escalation_step - later[w.id]),
            acknowledged_at=acked, ack_due_at=w.ack_due_at, ack_state=state,
        ))
    # Red before orange; within a level the longest open first.
    out.sort(key=lambda o: (-o.level.rank, o.opened_at, o.id))
    return out


def compute_report(
    *,
    day: date,
    warnings: Sequence[WarningView],
    audits: Sequence[AuditView],
    now: datetime,
    regions: RegionDirectory | None = None,
) -> SituationReport:
    """The situation report of ``day`` (Asia/Shanghai) as seen at ``now`` (aware).

    ``warnings`` must include every warning opened in the 30 days up to ``day``, every one still open
    then, and every one with a deadline or an action on ``day``; ``audits`` their audit entries.
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime refused")
    names = regions or RegionDirectory()
    d = Day(day)
    as_of = min(now, d.end)
    # Everything strictly before the cutoff has happened: the whole day, or up to and including now.
    cutoff = min(now + timedelta(microseconds=1), d.end)
    warnings = [w for w in warnings if w.opened_at < cutoff]
    events = _lifecycle(warnings, audits, d, cutoff)
    totals = Counts()
    by_level = {level: Counts() for level in LEVELS}
    by_district: dict[str, Counts] = defaultdict(Counts)
    for w in warnings:
        if events[w.id]:
            _add(totals, events[w.id])
            _add(by_level[w.level], events[w.id])
            _add(by_district[district_of(w.region)], events[w.id])
    districts = [DistrictCounts(code, names.name(code), c) for code, c in by_district.items()]
    districts.sort(key=lambda dc: (-dc.counts.opened, -dc.counts.escalated, dc.code))
    open_by_level = dict.fromkeys(LEVELS, 0)
    for w in warnings:
        if is_open_at(w, cutoff):
            open_by_level[w.level] += 1
    return SituationReport(
        day=day, generated_at=now, as_of=as_of,
        open_severe=_open_severe(warnings, audits, cutoff, names),
        totals=totals, by_level=by_level, by_district=districts, open_by_level=open_by_level,
        sla=sla_summary(warnings, day=d, cutoff=cutoff),
        top_rules_day=_top_rules(warnings, d, d),
        top_rules_week=_top_rules(warnings, d.minus(WEEK_DAYS - 1), d),
        trend=_trend(warnings, d),
    )
