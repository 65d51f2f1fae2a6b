"""Per-source watermarks: how far each department has delivered, and how far live evaluation may go.

Each source reports what it has delivered: the latest event time ``at`` among its records, and a
heartbeat ``complete_up_to`` (the time up to which it has sent everything; a pull that drained the source
reports the time of the pull). A source's *bound* is the later of its heartbeat and its latest ``at``
minus its ``allowed_lateness``: records at or before it are in. Live evaluation releases a record only
once every *holding* source's bound has reached its ``at`` (the release bound is the minimum), so records
reach the evaluator in event-time order whatever the order in which sources deliver.

A source holds the release bound while it is live: it has delivered something and was last heard from
within ``stale_after``. A source never heard from, or silent longer than that, stops holding: the others
are not kept waiting for it (its records, when they come, are evaluated at once and marked late).

Pure functions; the store keeps the marks (``integrations/store/watermarks.py``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.beijing import BEIJING
from domain.messages import N_, Message

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a heartbeat may be (clocks of departmental systems drift)."""


def parse_span(text: object) -> timedelta:
    """``'5m'``, ``'2h'``, ``'1d'``, ``'0s'`` → timedelta (zero allowed); ``ValueError`` otherwise."""
    if isinstance(text, timedelta):
        return text
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(Message(N_("时长须为整数加 s、m、h 或 d（例如 5m、2h、1d），得到 {text}"), text=repr(text)))
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class SourceTiming:
    """What ``sources.yaml`` declares about a source's timing."""

    interval: timedelta = timedelta(minutes=5)
    """How often it delivers (informational: what ``late`` means in ``sources status``)."""
    allowed_lateness: timedelta = timedelta(0)
    """How far behind its latest ``at`` its records may still come."""
    stale_after: timedelta = timedelta(days=1)
    """Silence after which it stops holding the release bound."""


DEFAULT_TIMING = SourceTiming()


@dataclass(frozen=True)
class SourceMark:
    """What one source has delivered so far (as the store keeps it)."""

    source: str
    latest_at: datetime | None
    """The latest event time among its records."""
    complete_up_to: datetime | None
    """Its heartbeat: everything up to this instant has been sent."""
    delivered_at: datetime | None
    """Wall time of its last delivery or heartbeat."""


class SourceState(StrEnum):
    """How a source stands: ``live`` (on time), ``late`` (a delivery overdue), ``stale`` (no longer holding)."""

    live = "live"
    late = "late"
    stale = "stale"


class HeartbeatError(ValueError):
    """A heartbeat refused (in the future, or going backwards); the message says why, in Chinese."""


def source_bound(mark: SourceMark, timing: SourceTiming) -> datetime | None:
    """The instant up to which ``mark``'s source has delivered everything (``None``: nothing yet)."""
    candidates = []
    if mark.complete_up_to is not None:
        candidates.append(mark.complete_up_to)
    if mark.latest_at is not None:
        candidates.append(mark.latest_at - timing.allowed_lateness)
    return max(candidates) if candidates else None


def state_of(mark: SourceMark, timing: SourceTiming, now: datetime) -> SourceState:
    """``live``, ``late`` or ``stale`` at wall time ``now``."""
    if mark.delivered_at is None or now - mark.delivered_at > timing.stale_after:
        return SourceState.stale
    if now - mark.delivered_at > 2 * timing.interval:
        return SourceState.late
    return SourceState.live


def holds(mark: SourceMark, timing: SourceTiming, now: datetime) -> bool:
    """True while ``mark``'s source holds the release bound (it has delivered and is not stale)."""
    return source_bound(mark, timing) is not None and state_of(mark, timing, now) is not SourceState.stale


def release_bound(
    marks: Mapping[str, SourceMark], timings: Mapping[str, SourceTiming], now: datetime,
    sources: Collection[str] | None = None,
) -> datetime | None:
    """The instant up to which (inclusive) records may be released: the minimum bound over the holding
    sources; ``None`` when no source holds (then nothing holds records back). ``sources``: only these may
    hold (a release group's, :mod:`rules.run.release_groups`: a rule fed by one source waits for no
    other); ``None``: every source."""
    bounds = [
        b
        for name, mark in marks.items()
        if (sources is None or name in sources)
        and holds(mark, t := timings.get(name, DEFAULT_TIMING), now) and (b := source_bound(mark, t)) is not None
    ]
    return min(bounds) if bounds else None


def check_heartbeat(source: str, previous: datetime | None, heartbeat: datetime, now: datetime) -> None:
    """Refuse a heartbeat in the future (beyond clock skew) or behind the one already recorded."""
    if heartbeat.tzinfo is None:
        raise HeartbeatError(Message(N_("来源 {source} 的完整时间 {at} 缺少时区：请写成 2026-01-31T23:59:59+08:00"),
                                     source=source, at=heartbeat.isoformat()))
    if heartbeat > now + CLOCK_SKEW:
        raise HeartbeatError(Message(N_("来源 {source} 的完整时间 {at} 在未来（现在 {now}）："
                                        "请检查部门系统的时钟后重发"), source=source,
                                     at=heartbeat.astimezone(BEIJING).isoformat(),
                                     now=now.astimezone(BEIJING).isoformat(timespec="seconds")))
    if previous is not None and heartbeat < previous:
        raise HeartbeatError(Message(N_("来源 {source} 的完整时间 {at} 早于已记录的 {previous}：完整时间不能倒退，"
                                        "请发送不早于已记录时间的值"), source=source,
                                     at=heartbeat.astimezone(BEIJING).isoformat(),
                                     previous=previous.astimezone(BEIJING).isoformat()))
