"""One round of the escalation watch without orchestration: the SLA watch, the end of silences whose time
is up, and delivery sweeps until nothing due is left.

``fenghuo deliver --once`` runs it directly; the ``escalate_warnings`` flow runs the same steps as tasks.
Each step commits on its own (the SLA watch in one transaction, the release of held notifications in one,
each sent unit in its own), so a crash in between leaves nothing half done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from domain.escalation import EscalationPolicy
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from integrations.i18n import translate
from integrations.notify.base import Channel
from integrations.notify.pipeline import deliver_pending
from integrations.notify.templates import MessageTemplates
from integrations.route import LinkMaker
from integrations.sla import sla_sweep
from integrations.store.db import session_scope
from integrations.store.inhibition import release_inhibited
from integrations.store.silences import release_held, remind_authors


@dataclass
class RoundReport:
    """What one round did: SLA actions, held notifications released or found not needed, deliveries."""

    escalated: int = 0
    released: int = 0
    not_needed: int = 0
    still_silenced: int = 0
    reminded: int = 0
    delivered: dict[str, int] = field(default_factory=lambda: {"sent": 0, "failed": 0, "dead": 0})

    def as_dict(self) -> dict[str, int]:
        """Flat counts for scripts and flow results."""
        return {"escalated": self.escalated, "released": self.released, "not_needed": self.not_needed,
                "silenced": self.still_silenced, "reminded": self.reminded, **self.delivered}


@dataclass(frozen=True)
class Reminders:
    """Who is reminded of a silence's end and when: its author, if it lasts ``long`` or more, ``before``
    it ends."""

    directory: ResponderDirectory
    long: timedelta
    before: timedelta


def release_silences(engine: sa.Engine, now: datetime, reminders: Reminders | None = None) -> dict[str, int]:
    """End the holds of silences over by ``now`` and of inhibitions whose source was resolved, and queue
    the reminders due (one transaction); see :func:`integrations.store.silences.release_held`,
    ``integrations.store.inhibition.release_inhibited`` and ``remind_authors``. Counts, with ``reminded``."""
    with session_scope(engine) as session:
        counts = release_held(session, now=now)
        for name, n in release_inhibited(session, now=now).items():
            counts[name] += n
        counts["reminded"] = 0 if reminders is None else remind_authors(
            session, directory=reminders.directory, now=now, long=reminders.long, before=reminders.before,
            word=translate)
        return counts


def deliver_all(engine: sa.Engine, channels: Mapping[str, Channel], *, now: datetime,
                window: timedelta | None, templates: MessageTemplates | None = None) -> dict[str, int]:
    """Sweep the outbox until nothing due is left (or a sweep sends nothing): totals sent, failed, dead.
    A sweep that saw every row due by ``now`` ends it (no second plan only to find nothing: the delivery
    thread sweeps after every batch, so that read was half its cost)."""
    totals = {"sent": 0, "failed": 0, "dead": 0}
    while True:
        report = deliver_pending(engine, channels, now=now, limit=500, digest_window=window, templates=templates)
        for name in totals:
            totals[name] += getattr(report, name)
        if report.attempted == 0 or report.sent == 0 or not report.more_due:
            return totals


def run_round(engine: sa.Engine, channels: Mapping[str, Channel], *, policy: EscalationPolicy,
              directory: ResponderDirectory, regions: RegionDirectory, now: datetime,
              reminders: Reminders | None = None, templates: MessageTemplates | None = None,
              links: LinkMaker | None = None) -> RoundReport:
    """The SLA watch, then the release of held notifications (and silence reminders), then delivery
    (blue and yellow wait for the policy's digest window; orange and red go at once)."""
    report = RoundReport()
    with session_scope(engine) as session:
        report.escalated = len(sla_sweep(session=session, policy=policy, directory=directory, regions=regions,
                                         now=now, templates=templates, links=links))
    released = release_silences(engine, now, reminders)
    report.released, report.not_needed, report.still_silenced, report.reminded = (
        released["released"], released["not_needed"], released["held"], released["reminded"])
    report.delivered = deliver_all(engine, channels, now=now, window=policy.digest_window, templates=templates)
    return report
