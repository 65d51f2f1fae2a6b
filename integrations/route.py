"""Routing service: decide (pure, ``domain.routing``), render (``integrations.notify.render``), record
(``integrations.store.routing``) — in the caller's transaction, so a warning change, its outbox rows and
its audit rows commit together or not at all.

The flows call :func:`route_changes` right after ``integrations.store.warnings.apply_changes`` with the
changes it reports, and the SLA sweeps (``integrations.sla``) call :func:`route_warning`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from domain.escalation import EscalationPolicy
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from domain.routing import ChangeKind, RouteDecision, decide_route, repeat_due
from domain.warnings import Change, WarningState
from integrations.i18n import _
from integrations.notify.message_context import warning_context
from integrations.notify.templates import MessageTemplates, default_templates
from integrations.store.audit import deferred_audit
from integrations.store.inhibition import covered_by
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.outbox_insert import deferred_outbox
from integrations.store.routing import Message, apply_route, record_route, routed_steps, routing_facts, text_key
from integrations.store.tasks import create_tasks, records_read_once
from integrations.store.warnings import ApplyReport, apply_changes

LinkMaker = Callable[[int, str, datetime], Mapping[str, str]]
"""(warning id, responder id, now) → ``{"ack": url, "resolve": url}``."""


@dataclass(frozen=True)
class Routing:
    """What routing needs besides the warning: policy, directories, and optionally links and categories."""

    policy: EscalationPolicy
    directory: ResponderDirectory
    regions: RegionDirectory
    links: LinkMaker | None = None
    categories: Callable[[WarningRow], Iterable[str]] | None = None
    """Record kinds or types behind a warning, selecting category overrides besides the rule id."""
    templates: MessageTemplates | None = None
    """Message layouts (``integrations.notify.templates``); None: the settings' (cached)."""


def _texts(warning: WarningRow, decision: RouteDecision, regions: RegionDirectory, links: LinkMaker | None,
           now: datetime, templates: MessageTemplates | None = None) -> dict[str, Message]:
    """Each recipient's message for the decided step (rendered after the route is applied) by the step's
    template (``integrations.notify.templates``; None: the settings'), then again for each of the
    recipient's channels that has a template of its own."""
    assert warning.id is not None
    out: dict[str, Message] = {}
    layouts = templates or default_templates()
    leadership = decision.policy.leadership.name
    for person in decision.recipients:
        urls = dict(links(warning.id, person.id, now)) if links else {}
        context = warning_context(warning, step=decision.step, recipient=person.id, regions=regions,
                                  leadership=leadership, links=urls)
        text = layouts.render(None, decision.step, context)
        out[person.id] = Message(text.subject, text.body, urls)
        for channel in dict.fromkeys(c.type for c in person.channels):
            if layouts.has_own(channel, decision.step):
                own = layouts.render(channel, decision.step, context)
                out[text_key(person.id, channel)] = Message(own.subject, own.body, urls)
    return out


def step_texts(warning: WarningRow, decision: RouteDecision, routing: Routing, now: datetime) -> dict[str, Message]:
    """Each recipient's message for a decision made outside :func:`decide_route` (a hand-over), with
    ``routing``'s links and templates (the route must already be applied to ``warning``)."""
    return _texts(warning, decision, routing.regions, routing.links, now, routing.templates)


def route_warning(
    *, session: Session, warning: WarningRow, change: ChangeKind | str, policy: EscalationPolicy,
    directory: ResponderDirectory, regions: RegionDirectory, now: datetime, categories: Iterable[str] = (),
    links: LinkMaker | None = None, templates: MessageTemplates | None = None,
) -> list[OutboxRow]:
    """Route ``warning`` for ``change`` (see :func:`domain.routing.decide_route`) and write its outbox rows
    and audit rows; return the step's rows. Idempotent per step: a step already routed returns its
    existing rows and changes nothing. ``links`` (e.g. ``integrations.notify.render.action_links``) adds
    one-click links for each recipient. Opening or raising also creates the warning's tasks for the grid
    (``integrations.store.tasks.create_tasks``)."""
    categories = tuple(categories)
    facts = routing_facts(session, warning)
    decision = decide_route(facts, change, policy=policy, directory=directory, now=now, categories=categories)
    apply_route(session, warning, decision, now)
    texts = {} if decision.already_routed else _texts(warning, decision, regions, links, now, templates)
    covered = covered_by(session, warning, decision.policy.inhibitions) if texts else []
    if covered:
        # An inhibiting warning (a cluster) says which warnings it covers: theirs are held meanwhile.
        listed = _("、").join(f"#{i}" for i in covered[:20]) + (_(" 等") if len(covered) > 20 else "")
        note = "\n" + _("本预警涵盖预警 {ids}（共 {n} 条，其通知暂缓，本预警办结后仍未办结的将补发）").format(
            ids=listed, n=len(covered))
        texts = {k: Message(m.subject, m.body + note, m.links) for k, m in texts.items()}
    rows = record_route(session, warning, decision, texts, now, categories)
    if decision.change in ("opened", "raised") and not decision.already_routed:
        # The tasks for the grid the pinned policy declares at this level, in the same transaction.
        create_tasks(session, warning, decision.policy, now, categories)
    return rows


def route_with(session: Session, warning: WarningRow, change: str, routing: Routing,
               now: datetime) -> list[OutboxRow]:
    """:func:`route_warning` with the policy, directories, links and categories of ``routing``."""
    cats = routing.categories(warning) if routing.categories else ()
    return route_warning(session=session, warning=warning, change=change, policy=routing.policy,
                         directory=routing.directory, regions=routing.regions, now=now, categories=cats,
                         links=routing.links, templates=routing.templates)


def route_changes(session: Session, changes: Iterable[tuple[WarningRow, str]], routing: Routing,
                  now: datetime) -> int:
    """Route every (warning, ``opened``/``raised``) change in order; return the outbox rows of their steps.
    Each routed warning remembers the event time of the firing it notified (for ``notify_every``).
    Their audit rows and outbox rows are written together at the end (one statement each, not one per
    step), their records read once for their tasks: a batch's routing costs a few round trips, not
    several per warning. The count is of the rows written (a step a concurrent router wrote first counts
    the rows this one would have written)."""
    changes = list(changes)
    total = 0
    warnings = [w for w, _ in changes]
    # One query for the steps of all of them, one for their records; one insert for each table written.
    with deferred_audit(session), deferred_outbox(session), routed_steps(session, warnings), \
            records_read_once(session, warnings):
        for warning, change in changes:
            # Set before routing (which does not read it): written by the same UPDATE as the route.
            warning.notified_at = warning.last_at
            total += len(route_with(session, warning, change, routing, now))
            session.add(warning)
    return total


def route_repeats(session: Session, folded: Iterable[WarningRow], routing: Routing, every: Mapping[str, timedelta],
                  now: datetime) -> int:
    """Notify again the open warnings that took in firings without rising, when their rule's
    ``notify_every`` (``every``, by rule id) has passed in event time since the firing last notified
    (:func:`domain.routing.repeat_due`); return the outbox rows written."""
    total = 0
    for warning in folded:
        last = warning.notified_at or warning.first_at
        if warning.status == "resolved" or not repeat_due(last, warning.last_at, every.get(warning.rule)):
            continue
        total += len(route_with(session, warning, "repeat", routing, now))
        warning.notified_at = warning.last_at
        session.add(warning)
    return total


def apply_and_route(session: Session, changes: Iterable[tuple[WarningState, Change]], routing: Routing,
                    now: datetime) -> ApplyReport:
    """Record the evaluator's changes (``apply_changes``) and route the warnings opened or raised, in the
    caller's transaction: the warnings and their outbox rows commit together."""
    applied = apply_changes(session=session, changes=changes, now=now)
    route_changes(session, applied.to_route, routing, now)
    return applied
