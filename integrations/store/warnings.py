"""Warnings in the store: applying the evaluator's changes, listing and reading them.

``apply_changes`` runs inside the caller's transaction and reports the warnings it opened or raised; the
caller routes them (``integrations.route.route_changes``) in the same transaction, so a warning and its
notifications are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from domain.regions import tier_of
from domain.warnings import Change, Status, WarningState
from integrations.store.audit import add_audit, deferred_audit
from integrations.store.models import AuditRow, WarningRow

STALE = "stale"
"""Status of an open warning with no new firing for its rule's ``resolve_after`` (still unresolved)."""
_CHUNK = 500
"""Fingerprints looked up in one query (well under every dialect's bound-parameter limit)."""


@dataclass
class ApplyReport:
    """What applying a batch of changes did."""

    opened: int = 0
    updated: int = 0
    raised: int = 0
    to_route: list[tuple[WarningRow, str]] = field(default_factory=list)
    """The warnings opened or raised, with the change (``opened``/``raised``), in order: to be routed."""
    folded: list[WarningRow] = field(default_factory=list)
    """The open warnings that took in firings without rising (a rule's ``notify_every`` may notify)."""


def _audit(session: Session, row: WarningRow, action: str, detail: dict[str, object], at: datetime) -> None:
    add_audit(session, AuditRow(warning_id=row.id, at=at, actor="system:evaluator", action=action, detail=detail))


def _new_row(state: WarningState, now: datetime) -> WarningRow:
    return WarningRow(
        fingerprint=state.fingerprint,
        open_key=state.fingerprint,
        rule=state.rule,
        title=state.title,
        level=state.level.value,
        status=Status.open.value,
        region=state.region,
        first_at=state.first_at,
        last_at=state.last_at,
        occurrences=state.occurrences,
        summary=state.summary,
        explanation=state.explanation,
        records=list(state.records),
        rulebook_version=state.rulebook_version,
        opened_at=now,
    )


def _insert_open(session: Session, rows: Sequence[WarningRow]) -> dict[str, WarningRow]:
    """Insert ``rows`` but those whose ``open_key`` is open already (another writer's): one statement for
    all, ``INSERT … ON CONFLICT DO NOTHING``, so two writers never collide on the unique key. Returns the
    rows inserted, by ``open_key``; ids ascend in the order of ``rows``, as one insert each would give."""
    if not rows:
        return {}
    table = WarningRow.__table__  # type: ignore[attr-defined]
    values = [{c.name: getattr(row, c.name) for c in table.columns if c.name != "id"} for row in rows]
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = pg_insert if postgres else sqlite_insert
    stmt = insert(WarningRow).on_conflict_do_nothing(index_elements=["open_key"])
    # RETURNING the ORM rows: the new warnings are in the session without a second round trip to read them.
    # PostgreSQL is told to number them in parameter order; SQLite's one multi-row insert does so anyway
    # (asking it would split the insert into one statement per row).
    returning = stmt.returning(WarningRow, sort_by_parameter_order=postgres)
    return {r.open_key: r for r in session.scalars(returning, values) if r.open_key is not None}


def _open_rows(session: Session, fingerprints: Sequence[str]) -> dict[str, WarningRow]:
    """The open warnings of ``fingerprints``, by fingerprint, read in chunks of one query each."""
    out: dict[str, WarningRow] = {}
    wanted = sorted(set(fingerprints))
    for i in range(0, len(wanted), _CHUNK):
        query = select(WarningRow).where(col(WarningRow.open_key).in_(wanted[i:i + _CHUNK]))
        out.update((r.open_key, r) for r in session.exec(query) if r.open_key is not None)
    return out


_FOLDED = ("level", "last_at", "occurrences", "records", "summary", "explanation", "rulebook_version", "status",
           "stale_at")
"""The columns a fold writes (one statement for every folded row of a batch)."""


def _fold(row: WarningRow, state: WarningState, folds: dict[int | None, dict[str, object]]) -> bool:
    """Take ``state`` into ``row`` as committed values and remember the row's new columns for
    :func:`_write_folds` (the ORM's unit of work costs more than the write itself for a batch's folds).
    True when the row was stale: a stale warning that fires again is active again."""
    again = row.status == STALE
    values: dict[str, object] = {
        "level": state.level.value, "last_at": state.last_at, "occurrences": state.occurrences,
        "records": list(state.records), "summary": state.summary, "explanation": state.explanation,
        "rulebook_version": state.rulebook_version, "status": Status.open.value if again else row.status,
        "stale_at": None if again else row.stale_at}
    for name, value in values.items():
        set_committed_value(row, name, value)
    values["_id"] = row.id
    folds[row.id] = values  # a later change of the same warning in the batch replaces an earlier one
    return again


def _write_folds(session: Session, folds: dict[int | None, dict[str, object]]) -> None:
    """One ``UPDATE … WHERE id = ?`` executed for every folded row (an executemany)."""
    if not folds:
        return
    table = WarningRow.__table__  # type: ignore[attr-defined]
    stmt = sa.update(table).where(table.c.id == sa.bindparam("_id")).values(
        {name: sa.bindparam(name) for name in _FOLDED})
    session.connection().execute(stmt, list(folds.values()))


def apply_changes(
    *,
    session: Session,
    changes: Iterable[tuple[WarningState, Change]],
    now: datetime,
) -> ApplyReport:
    """Write the evaluator's changes: open, update (fold) or raise warnings, each audited.

    Idempotent with respect to the fingerprint: an ``opened`` change for a fingerprint that is already
    open in the store is folded into it instead of opening a second warning. The audit rows are written
    together at the end (one statement, :func:`integrations.store.audit.deferred_audit`).
    """
    with deferred_audit(session):
        return _apply(session, changes, now)


def _apply(session: Session, changes: Iterable[tuple[WarningState, Change]], now: datetime) -> ApplyReport:
    report = ApplyReport()
    changes = list(changes)
    folds: dict[int | None, dict[str, object]] = {}
    # The open warnings of the whole batch in one query, not one round trip per change (a batch of a burst
    # folds hundreds of firings); the rows the batch opens join them as they are inserted.
    open_rows = _open_rows(session, [state.fingerprint for state, _ in changes])
    # The warnings the batch opens, inserted together (each from its first change, as one by one would).
    new: dict[str, WarningState] = {}
    for state, _ in changes:
        if state.fingerprint not in open_rows:
            new.setdefault(state.fingerprint, state)
    inserted = _insert_open(session, [_new_row(state, now) for state in new.values()])
    for state, change in changes:
        row = open_rows.get(state.fingerprint)
        if row is None:
            row = inserted.pop(state.fingerprint, None)
            if row is not None:
                open_rows[state.fingerprint] = row
                report.opened += 1
                _audit(session, row, "opened", {"level": row.level, "explanation": row.explanation}, now)
                report.to_route.append((row, Change.opened.value))
                continue
            # Another writer opened it between our read and our insert: fold into theirs.
            row = session.exec(select(WarningRow).where(WarningRow.open_key == state.fingerprint)).one()
            open_rows[state.fingerprint] = row
        previous = row.level
        if _fold(row, state, folds):
            _audit(session, row, "active-again", {"last_at": row.last_at.isoformat()}, now)
        if change is Change.raised and previous != row.level:
            report.raised += 1
            _audit(session, row, "raised", {"from": previous, "to": row.level,
                                             "explanation": row.explanation}, now)
            report.to_route.append((row, Change.raised.value))
        else:
            report.updated += 1
            report.folded.append(row)
    _write_folds(session, folds)
    return report


def open_fingerprints(*, session: Session, fingerprints: Sequence[str]) -> set[str]:
    """Of ``fingerprints``, those that have an open (unresolved) warning in the store."""
    if not fingerprints:
        return set()
    rows = session.exec(select(WarningRow.open_key).where(col(WarningRow.open_key).in_(list(fingerprints))))
    return {r for r in rows if r is not None}


def list_warnings(
    *,
    session: Session,
    status: str | None = None,
    level: str | None = None,
    within: str | None = None,
    limit: int = 100,
) -> list[WarningRow]:
    """Warnings, most severe and newest first; ``within`` keeps those in a region's subtree."""
    query = select(WarningRow)
    if status == "unresolved":
        query = query.where(WarningRow.status != Status.resolved.value)
    elif status:
        query = query.where(WarningRow.status == status)
    if level:
        query = query.where(WarningRow.level == level)
    if within:
        # Region codes are prefix-structured: a subtree is a prefix match on the ancestor's digits.
        query = query.where(col(WarningRow.region).startswith(within[: tier_of(within).digits]))
    rows = list(session.exec(query.order_by(col(WarningRow.last_at).desc())))
    order = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
    rows.sort(key=lambda r: order.get(r.level, 9))  # stable: newest first inside a level
    return rows[:limit]


def get_warning(*, session: Session, warning_id: int) -> WarningRow | None:
    """One warning by id."""
    return session.get(WarningRow, warning_id)


def audit_trail(*, session: Session, warning_id: int) -> list[AuditRow]:
    """The append-only story of a warning, oldest first."""
    query = select(AuditRow).where(AuditRow.warning_id == warning_id).order_by(col(AuditRow.id))
    return list(session.exec(query))
