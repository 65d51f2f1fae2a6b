"""Warnings about the sources themselves: a department gone silent (pure decisions).

A source that has delivered and then stays silent longer than its ``stale_after`` stops holding live
evaluation back (:func:`domain.watermarks.holds`): the evaluator goes on without it, and what it would
have said is missing. The city duty office is told by a ``source-stale`` warning — one per source, routed,
escalated and acknowledged like any other — which resolves itself when the source delivers again. A
source never heard from raises nothing (a new deployment would otherwise open one per department).

Staleness is measured in wall time: it is about the departments' systems, not about the events, so these
warnings belong to live operation and never appear in a backtest.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.beijing import BEIJING
from domain.messages import N_, Message
from domain.warnings import Level, WarningState
from domain.watermarks import DEFAULT_TIMING, SourceMark, SourceState, SourceTiming, state_of

RULE = "source-stale"
"""The rule id these warnings carry."""
LEVEL = Level.yellow


def fingerprint(source: str) -> str:
    """The open key of ``source``'s warning: at most one open per source."""
    return f"{RULE}:{source}"


@dataclass(frozen=True)
class SourceAlerts:
    """What to do: warnings to open, and the sources whose open warning is over."""

    opened: tuple[WarningState, ...]
    recovered: tuple[str, ...]


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.1f}"


def _warning(mark: SourceMark, timing: SourceTiming, now: datetime, city: str, version: str) -> WarningState:
    assert mark.delivered_at is not None
    silent = now - mark.delivered_at
    last = Message(N_("{time}（北京时间）"), time=mark.delivered_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"))
    return WarningState(
        fingerprint=fingerprint(mark.source), rule=RULE, level=LEVEL, region=city,
        first_at=now, last_at=now, occurrences=1, records=(), rulebook_version=version,
        # Messages (the Chinese text): the live watch renders them in the deployment's language before storing.
        title=Message(N_("数据来源中断")),
        summary=Message(N_("来源 {source} 已 {hours} 小时未交付数据，实时研判不再等待该来源；"
                           "请核实该部门系统或接口是否正常"), source=mark.source, hours=_hours(silent)),
        explanation=Message(N_("规则 {rule}：来源 {source} 最后一次交付于 {last}，已静默 {hours} 小时，"
                               "超过 sources.yaml 中的 stale_after {limit} 小时。该来源恢复交付后本预警自动办结。"),
                            rule=RULE, source=mark.source, last=last, hours=_hours(silent),
                            limit=_hours(timing.stale_after)),
    )


def source_alerts(
    marks: Mapping[str, SourceMark], timings: Mapping[str, SourceTiming], open_sources: Collection[str],
    *, now: datetime, city: str, version: str,
) -> SourceAlerts:
    """For the configured sources (``timings``): the stale ones without an open warning get one; those
    with one (``open_sources``) that are no longer stale are recovered. A source never heard from is
    neither."""
    opened, recovered = [], []
    for name in sorted(set(timings) | set(open_sources)):
        mark = marks.get(name)
        timing = timings.get(name, DEFAULT_TIMING)
        stale = mark is not None and mark.delivered_at is not None and \
            state_of(mark, timing, now) is SourceState.stale
        if stale and name not in open_sources and name in timings:
            assert mark is not None
            opened.append(_warning(mark, timing, now, city, version))
        elif not stale and name in open_sources:
            recovered.append(name)
    return SourceAlerts(tuple(opened), tuple(recovered))
