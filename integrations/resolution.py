"""Resolving a warning and telling whoever was told of it (``resolve`` step, ``resolve.j2``).

:func:`resolve_as` is what a responder's resolve does, from the CLI (``fenghuo warnings resolve``), the web
workspace and a one-click link alike: the jurisdiction check and the store's one resolve path
(``integrations.store.actions.resolve`` → ``integrations.store.resolution.close_warning``), then
:func:`tell_resolved`, all in the caller's transaction. A warning resolved on a rule's behalf
(``auto_resolve``) is told the same way by the staleness sweep.

Who is told: every (recipient, channel) that was sent, or still has queued, a notification of an earlier
step — nobody who only ever had held ones (a silence or an inhibition kept them; closing made them
``not_needed``), since nobody needs to hear that a warning they never heard of is closed. Each message has
the idempotency key ``{warning_id}:resolve:{recipient}:{channel}``, so telling twice writes nothing new. If
a silence or an inhibition covers the warning at that moment, the resolve messages are recorded
``not_needed`` rather than sent: the hold is the operator's word that this cause needs no noise now.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from integrations.i18n import _
from integrations.notify.message_context import warning_context
from integrations.notify.templates import default_templates, templates_for
from integrations.policy import load_policy
from integrations.route import Routing
from integrations.settings import Settings
from integrations.store import actions
from integrations.store.inhibition import inhibiting
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.outbox_insert import insert_missing
from integrations.store.outbox_status import NOT_NEEDED, PENDING, SENT
from integrations.store.routing import pinned_policy
from integrations.store.silences import covering_silence

STEP = "resolve"
"""Outbox step of the message telling a recipient that a warning they were told of is resolved."""
TOLD = (SENT, PENDING)
"""Statuses of an earlier notification whose recipient is told of the resolution: sent, or queued."""


def resolve_key(warning_id: int, recipient: str, channel: str) -> str:
    """The idempotency key of one resolve message."""
    return f"{warning_id}:{STEP}:{recipient}:{channel}"


def told(session: Session, warning_id: int) -> list[tuple[str, str, str]]:
    """(recipient, channel, address) of every earlier notification of the warning sent or queued, in the
    order they were first written; one each."""
    query = select(OutboxRow).where(OutboxRow.warning_id == warning_id, col(OutboxRow.status).in_(TOLD),
                                    OutboxRow.step != STEP)
    out: dict[tuple[str, str], str] = {}
    for row in session.exec(query.order_by(col(OutboxRow.id))):
        out.setdefault((row.recipient, row.channel), row.address)
    return [(r, c, a) for (r, c), a in out.items()]


def _hold_reason(session: Session, warning: WarningRow, routing: Routing, now: datetime) -> str | None:
    """Why the resolve messages are not needed now (a silence or an inhibition covers the warning), or None."""
    categories = tuple(routing.categories(warning)) if routing.categories else ()
    silence = covering_silence(session, warning, categories=categories, now=now)
    if silence is not None:
        return _("静默期间办结（静默 #{id}：{reason}），不再需要").format(id=silence.id, reason=silence.reason)
    source = inhibiting(session, warning, pinned_policy(warning, routing.policy).inhibitions)
    if source is not None:
        return _("由预警 #{id}（{rule}）统一通知，不再需要").format(id=source.id, rule=source.rule)
    return None


def tell_resolved(session: Session, warning: WarningRow, *, routing: Routing, now: datetime) -> list[OutboxRow]:
    """Write one resolve message per (recipient, channel) told of ``warning`` before (:func:`told`):
    pending, or ``not_needed`` while a silence or an inhibition covers the warning; return the resolve
    rows of the warning (idempotent: keys already written are left alone)."""
    assert warning.id is not None
    targets = told(session, warning.id)
    if targets:
        held = _hold_reason(session, warning, routing, now)
        layouts = routing.templates or default_templates()
        leadership = pinned_policy(warning, routing.policy).leadership.name
        rows = []
        for recipient, channel, address in targets:
            context = warning_context(warning, step=STEP, recipient=recipient, regions=routing.regions,
                                      leadership=leadership)
            text = layouts.render(channel if layouts.has_own(channel, STEP) else None, STEP, context)
            rows.append(OutboxRow(
                idempotency_key=resolve_key(warning.id, recipient, channel), warning_id=warning.id, step=STEP,
                recipient=recipient, channel=channel, address=address, level=warning.level,
                subject=text.subject, body=text.body,
                payload={"warning_id": warning.id, "rule": warning.rule, "level": warning.level,
                         "region": warning.region, "step": STEP, "links": {}},
                status=NOT_NEEDED if held else PENDING, last_error=held or "", next_attempt_at=now,
                created_at=now))
        insert_missing(session, rows)
    query = select(OutboxRow).where(OutboxRow.warning_id == warning.id, OutboxRow.step == STEP)
    return list(session.exec(query.order_by(col(OutboxRow.id))))


def routing_for(settings: Settings, directory: ResponderDirectory, regions: RegionDirectory) -> Routing:
    """What telling of a resolution needs, for a caller holding only the directories (a one-click link
    page): the settings' policy (:func:`integrations.policy.load_policy`) and templates; no links."""
    return Routing(policy=load_policy(settings), directory=directory, regions=regions,
                   templates=templates_for(settings))


def resolve_as(
    *, session: Session, warning_id: int, responder: str, directory: ResponderDirectory, reason: str,
    now: datetime, routing: Routing, operator: str | None = None,
) -> WarningRow:
    """Resolve the warning as ``responder`` (jurisdiction checked, refusals audited; a reason required; a
    resolved warning raises ``ActionError``) and tell whoever was told of it (:func:`tell_resolved`), in
    the caller's transaction. ``operator``: the OS user acting for the responder from the command line."""
    warning = actions.resolve(session=session, warning_id=warning_id, responder=responder, directory=directory,
                              reason=reason, now=now, operator=operator)
    tell_resolved(session, warning, routing=routing, now=now)
    return warning
