"""Silences: a responder announces a known cause (a public hearing, a wage payment day) so that the
warnings it will cause do not notify anyone until it ends.

Pure decisions only: whether a silence covers a warning (:func:`covers`), whether a responder may create
one (:func:`refusal`), and what becomes of a notification held by one once nothing holds it any more
(:func:`release_outcome`). The store (``integrations.store.silences``) keeps the silences and the held
outbox rows.

A silence names a rule, optionally a region (its whole subtree), a level (that level and the ones below
it: a rise above the level breaks through) and a category (a record kind or type behind the warning).
It is in force from ``starts_at`` until ``until`` or until expired by hand, whichever comes first; there is
no silence without an end. A recurring silence (:mod:`domain.schedules`) holds only inside its schedule
while in force: its held notifications go out when each occurrence ends.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from domain.messages import N_, Message
from domain.regions import Tier, is_within, tier_of
from domain.responders import ResponderDirectory
from domain.schedules import Schedule
from domain.warnings import LEVELS, Level, Status


@dataclass(frozen=True)
class Silence:
    """A silence as the domain sees it (no storage details)."""

    id: int
    rule: str
    region: str | None
    level: str | None
    category: str | None
    starts_at: datetime
    until: datetime
    reason: str
    author: str
    expired_at: datetime | None = None
    schedule: Schedule | None = None
    """A recurring silence holds only inside its schedule (and still only until ``until``)."""

    def ends_at(self) -> datetime:
        """When it stops holding: ``until``, or earlier if it was expired by hand."""
        return min(self.until, self.expired_at) if self.expired_at else self.until

    def is_active(self, at: datetime) -> bool:
        """True if the silence holds notifications at ``at`` (inside its schedule, if it has one)."""
        in_force = self.starts_at <= at < self.ends_at()
        return in_force and (self.schedule is None or self.schedule.covers(at))


def level_covered(silence_level: str | None, level: str) -> bool:
    """True if a silence of ``silence_level`` (None: every level) covers a warning of ``level``."""
    if silence_level is None:
        return True
    return Level(level).rank <= Level(silence_level).rank


def covers(silence: Silence, *, rule: str, region: str, level: str, categories: Collection[str],
           at: datetime) -> bool:
    """True if ``silence`` is active at ``at`` and matches a warning of ``rule`` in ``region`` at ``level``
    whose records are of ``categories``."""
    if not silence.is_active(at) or silence.rule != rule:
        return False
    if silence.region is not None and not is_within(region, silence.region):
        return False
    if silence.category is not None and silence.category not in categories:
        return False
    return level_covered(silence.level, level)


class SilenceIndex:
    """Silences by rule, lowest id first: matching a warning looks only at its own rule's silences, so a
    thousand silences of other rules cost nothing."""

    def __init__(self, silences: Iterable[Silence]) -> None:
        self._by_rule: dict[str, list[Silence]] = {}
        for silence in sorted(silences, key=lambda s: s.id):
            self._by_rule.setdefault(silence.rule, []).append(silence)

    def covering(self, *, rule: str, region: str, level: str, categories: Collection[str],
                 at: datetime) -> Silence | None:
        """The oldest silence that covers the warning at ``at``, or None."""
        for silence in self._by_rule.get(rule, ()):
            if covers(silence, rule=rule, region=region, level=level, categories=categories, at=at):
                return silence
        return None


def covering(silences: Iterable[Silence] | SilenceIndex, *, rule: str, region: str, level: str,
             categories: Collection[str], at: datetime) -> Silence | None:
    """The first of ``silences`` that covers the warning at ``at`` (lowest id first), or None."""
    index = silences if isinstance(silences, SilenceIndex) else SilenceIndex(silences)
    return index.covering(rule=rule, region=region, level=level, categories=categories, at=at)


def refusal(directory: ResponderDirectory, author: str, *, region: str | None, level: str | None,
            starts_at: datetime, until: datetime, max_length: timedelta) -> Message | None:
    """Why ``author`` may not create this silence (Chinese, saying what to do), or None if allowed.

    The author must be a known responder whose node's subtree contains the silence's region (no region:
    the whole city, so only the city tier); a silence that covers red warnings (``level`` red or none)
    needs the city tier; it must end after it starts and last at most ``max_length``.
    """
    person = directory.responder(author)
    if person is None:
        return Message(N_("未知的处置人员 {author}：--as 须为处置人员名录中的 id"), author=author)
    if until <= starts_at:
        return Message(N_("结束时间须晚于开始时间：请给出将来的 --until"))
    if until - starts_at > max_length:
        hours = max_length.total_seconds() / 3600
        return Message(N_("静默时长超过上限 {hours:g} 小时：请缩短 --until（没有永久静默）"), hours=hours)
    node = directory.city if directory.is_leadership(author) else person.node
    root = region or directory.city
    if not is_within(root, node):
        return Message(N_("{author} 的辖区 {node} 不包含 {root}：只有辖区覆盖该区域的人员可以设置静默"), author=author,
                       node=node, root=root)
    covers_red = level is None or Level(level) is Level.red
    if covers_red and tier_of(node) is not Tier.city:
        return Message(N_("覆盖红色预警的静默须由市级人员设置：请加 --level orange 或以下，或请市级值班人员设置"))
    return None


Outcome = Literal["keep", "send", "not_needed"]
"""What becomes of a held notification: still held, released to send, or recorded as not needed."""


def release_outcome(*, still_silenced: bool, warning_status: str) -> Outcome:
    """The fate of a notification held by a silence: held while a silence still covers its warning;
    otherwise sent once if the warning is still open (or acknowledged), or not needed if resolved."""
    if still_silenced:
        return "keep"
    return "not_needed" if warning_status == Status.resolved.value else "send"


LEVEL_NAMES = tuple(level.value for level in LEVELS)
"""The level names a silence may name."""
