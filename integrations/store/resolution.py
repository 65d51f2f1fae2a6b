"""Closing a warning: the one code path that resolves one (a responder from the CLI, the web workspace or a
one-click link; a rule's ``auto_resolve``; a source that delivers again), in the caller's transaction.

Closing sets the status, withdraws the warning's open tasks, and settles what was still to be said about
it: notifications held by a silence (``silenced``) or an inhibition (``held``) become ``not_needed`` (the
hold would otherwise release them after the warning was closed), and so do a queued repeat and the blue
or yellow rows still waiting for their digest window (not yet in a digest: nobody was told, nobody needs
to be now). Rows already sent, in a digest or being retried stay as they are: whoever got or is getting
them is told of the resolution (``integrations.resolution``). The audit entry comes last, so it describes
what was done. Closing a closed warning changes nothing and audits nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from domain.messages import N_
from domain.routing import DIGEST_LEVELS
from domain.warnings import Status

# The models first: the audit module cannot be the first of the store's modules imported (see silences).
from integrations.store import models as _models  # noqa: F401  isort: skip
from integrations.store.audit import append_audit
from integrations.store.digests import DIGEST_KEY
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.outbox_status import HELD, NOT_NEEDED, PENDING, SILENCED
from integrations.store.tasks import withdraw_tasks

RESOLVED = "resolved"
"""Audit action of a resolution (the CAP feed's ``Cancel``, the reports' 办结 read it)."""
NOT_NEEDED_NOTE = N_("预警已办结，无需发送")
"""``last_error`` of a row closing a warning made ``not_needed`` (shown in ``notifications list``)."""


@dataclass(frozen=True)
class Closed:
    """What closing did: whether the warning changed, and how many notifications became not needed
    (held by a silence or an inhibition, a queued repeat, undigested blue and yellow)."""

    changed: bool
    held: int = 0
    repeats: int = 0
    undigested: int = 0
    tasks: int = 0

    @property
    def not_needed(self) -> int:
        """Every notification this closing turned ``not_needed``."""
        return self.held + self.repeats + self.undigested


def _settle_outbox(session: Session, warning_id: int) -> tuple[int, int, int]:
    """Turn the warning's held rows, its queued repeats and its undigested blue/yellow rows ``not_needed``;
    return the three counts."""
    query = select(OutboxRow).where(OutboxRow.warning_id == warning_id,
                                    col(OutboxRow.status).in_([SILENCED, HELD, PENDING]))
    held = repeats = undigested = 0
    for row in session.exec(query.order_by(col(OutboxRow.id))):
        if row.status in (SILENCED, HELD):
            held += 1
        elif row.attempts == 0 and row.step.startswith("repeat-"):
            repeats += 1
        elif row.attempts == 0 and row.level in DIGEST_LEVELS and not (row.payload or {}).get(DIGEST_KEY):
            # Still waiting for its digest window: never sent, so nobody needs it any more.
            undigested += 1
        else:
            continue  # in a digest or already tried: on its way, and its recipient will hear of the resolution
        row.status, row.last_error = NOT_NEEDED, NOT_NEEDED_NOTE
        session.add(row)
    return held, repeats, undigested


def close_warning(session: Session, warning: WarningRow, *, actor: str, reason: str, now: datetime,
                  detail: Mapping[str, object] | None = None, acknowledge: bool = False) -> Closed:
    """Resolve ``warning`` (the one place a warning's status becomes ``resolved``) in the caller's
    transaction: the status and ``resolved_at`` (and ``acknowledged_at`` if ``acknowledge`` and unset);
    open tasks withdrawn; held notifications, a queued repeat and undigested blue/yellow rows ``not_needed``;
    then one audit entry under ``actor`` with ``reason`` and ``detail`` (plus the previous status and the
    counts). Idempotent: a resolved warning is left as it is, with no audit entry (``changed`` False)."""
    assert warning.id is not None
    if warning.status == Status.resolved.value:
        return Closed(changed=False)
    previous = warning.status
    warning.status, warning.resolved_at, warning.open_key = Status.resolved.value, now, None
    if acknowledge:
        warning.acknowledged_at = warning.acknowledged_at or now
    session.add(warning)
    tasks = len(withdraw_tasks(session=session, warning_id=warning.id, now=now))
    held, repeats, undigested = _settle_outbox(session, warning.id)
    closed = Closed(changed=True, held=held, repeats=repeats, undigested=undigested, tasks=tasks)
    append_audit(session=session, warning_id=warning.id, actor=actor[:100], action=RESOLVED, reason=reason, at=now,
                 detail={"from": previous, **(detail or {}), "not_needed": closed.not_needed,
                         "tasks_withdrawn": tasks})
    return closed
