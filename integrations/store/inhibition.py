"""Inhibition in the store: hold a routing step's rows while an open source warning covers the warning
(``domain.inhibition``), list what a source covers (for its message), and end the holds of sources that
were resolved — each held row then sent once under its own key if its warning is still open, or
recorded ``not_needed`` if it was resolved too."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from domain.inhibition import Inhibition, OpenSource, inhibitor
from domain.messages import N_, Message
from domain.regions import ancestors, subtree_prefix
from domain.silences import release_outcome
from domain.warnings import Level, Status

# The models first: the audit module cannot be the first of the store's modules imported (see silences).
from integrations.store import models as _models  # noqa: F401  isort: skip
from integrations.store.audit import append_audit
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.outbox_status import HELD, NOT_NEEDED, PENDING

SYSTEM = "system:inhibition"


_CACHE = "inhibition-sources"


def _index(session: Session, sources: frozenset[str]) -> dict[str, list[OpenSource]]:
    """The open warnings of the ``sources`` rules by region, read once per transaction (a batch routing
    thousands of warnings reads them once); a source opened in the transaction joins it as it is routed
    (:func:`note_source`). A source opened meanwhile by another process counts from the next one."""
    key = (_CACHE, sources)
    index: dict[str, list[OpenSource]] | None = session.info.get(key)
    if index is None:
        index = {}
        query = select(WarningRow.id, WarningRow.rule, WarningRow.region).where(
            col(WarningRow.rule).in_(sorted(sources)), WarningRow.status != Status.resolved.value)
        for i, r, g in session.exec(query):
            if i is not None:
                index.setdefault(g, []).append(OpenSource(i, r, g))
        session.info[key] = index
    return index


def note_source(session: Session, warning: WarningRow) -> None:
    """Add ``warning`` to this transaction's cached sources if it is of a cached source rule."""
    for key, index in session.info.items():
        if isinstance(key, tuple) and key[:1] == (_CACHE,) and warning.rule in key[1] and warning.id is not None:
            here = index.setdefault(warning.region, [])
            if all(s.id != warning.id for s in here):
                here.append(OpenSource(warning.id, warning.rule, warning.region))


def _open_sources(session: Session, inhibitions: Sequence[Inhibition], warning: WarningRow) -> list[OpenSource]:
    """The open warnings that could inhibit ``warning``: of a source rule whose inhibition names its rule
    at its level, in one of its ancestor regions (``is_within`` is exactly that)."""
    rank = Level(warning.level).rank
    rules = {i.source for i in inhibitions if i.enabled and i.source != warning.rule
             and i.min_level.rank <= rank <= i.max_level.rank and i.names(warning.rule)}
    if not rules:
        return []
    index = _index(session, frozenset(i.source for i in inhibitions if i.enabled))
    found = [s for region in set(ancestors(warning.region).values()) for s in index.get(region, ())
             if s.rule in rules and s.id != warning.id]
    # A source resolved earlier in this same transaction no longer holds (the identity map answers).
    return [s for s in found if (row := session.get(WarningRow, s.id)) is not None
            and row.status != Status.resolved.value]


def inhibiting(session: Session, warning: WarningRow, inhibitions: Sequence[Inhibition]) -> OpenSource | None:
    """The open source warning that inhibits ``warning`` now, if any (what :func:`hold_if_inhibited` holds by)."""
    if not any(i.enabled for i in inhibitions):
        return None
    return inhibitor(inhibitions, _open_sources(session, inhibitions, warning), rule=warning.rule,
                     region=warning.region, level=warning.level)


def hold_if_inhibited(session: Session, warning: WarningRow, rows: Sequence[OutboxRow], *,
                      inhibitions: Sequence[Inhibition]) -> OpenSource | None:
    """Mark a step's new pending ``rows`` ``held`` (before they are inserted) if an open source warning
    inhibits ``warning``; note the source on each row and in the warning's audit; return it."""
    if not rows or not any(i.enabled for i in inhibitions) or any(r.status != PENDING for r in rows):
        return None
    source = inhibitor(inhibitions, _open_sources(session, inhibitions, warning), rule=warning.rule,
                       region=warning.region, level=warning.level)
    if source is None:
        return None
    for row in rows:
        row.status = HELD
        row.payload = {**row.payload, "inhibitor": source.id}
    append_audit(session=session, warning_id=warning.id, actor=SYSTEM, action="inhibited",
                 reason=Message(N_("由预警 #{id}（{rule}）统一通知"), id=source.id, rule=source.rule),
                 at=rows[0].created_at,
                 detail={"inhibitor": source.id, "step": rows[0].step})
    return source


def covered_by(session: Session, source: WarningRow, inhibitions: Sequence[Inhibition]) -> list[int]:
    """Ids of the open warnings ``source`` inhibits now (for the summary in its message), oldest first."""
    mine = [i for i in inhibitions if i.source == source.rule and i.enabled]
    if not mine:
        return []
    # Only the source's subtree can be covered: read that range of codes, not every open warning of the city.
    prefix = subtree_prefix(source.region)
    query = select(WarningRow).where(WarningRow.status != Status.resolved.value, WarningRow.id != source.id,
                                     col(WarningRow.region) >= prefix, col(WarningRow.region) < prefix + ":")
    return [w.id for w in session.exec(query.order_by(col(WarningRow.id))) if w.id is not None and any(
        i.holds(source_rule=source.rule, source_region=source.region, rule=w.rule, region=w.region,
                level=w.level) for i in mine)]


def release_inhibited(session: Session, *, now: datetime) -> dict[str, int]:
    """End the holds whose source warning is resolved (in the caller's transaction): a held row becomes
    due at ``now`` (same key, sent once) if its warning is open, ``not_needed`` if resolved. Counts
    ``released``, ``not_needed``, ``held``."""
    held = list(session.exec(select(OutboxRow).where(OutboxRow.status == HELD).order_by(col(OutboxRow.id))))
    counts = {"released": 0, "not_needed": 0, "held": 0}
    for row in held:
        source = session.get(WarningRow, row.payload.get("inhibitor"))
        warning = session.get(WarningRow, row.warning_id) if row.warning_id is not None else None
        still = source is not None and source.status != Status.resolved.value
        outcome = release_outcome(still_silenced=still,
                                  warning_status=warning.status if warning else Status.resolved.value)
        if outcome == "keep":
            counts["held"] += 1
            continue
        if outcome == "send":
            row.status, row.next_attempt_at = PENDING, now
            counts["released"] += 1
        else:
            row.status, row.last_error = NOT_NEEDED, N_("预警已办结，无需补发")
            counts["not_needed"] += 1
        session.add(row)
    session.flush()
    return counts
