"""A batch's warnings are written and routed set-wise: the statements of a burst batch do not grow with
its warnings (one insert of the new warnings, one of their outbox rows, one of their audit rows), on
SQLite and on PostgreSQL, and the rows are those one-by-one writing gave, in the same order."""

from __future__ import annotations

from datetime import timedelta
from itertools import groupby

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.escalation import EscalationPolicy
from domain.warnings import Change, Level, WarningState
from integrations.route import Routing, route_changes
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.warnings import apply_changes
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, small_directory

ROUTING = Routing(policy=EscalationPolicy(), directory=small_directory(), regions=REGIONS)
LEVELS = (Level.blue, Level.yellow, Level.orange, Level.red)


def _state(fp: str, level: Level, occurrences: int = 1) -> WarningState:
    at = MONDAY_10_BJ + timedelta(minutes=occurrences)
    return WarningState(fingerprint=fp, rule="collective-petition", level=level, region="510104001001",
                        first_at=MONDAY_10_BJ, last_at=at, occurrences=occurrences, explanation="e", summary="s",
                        title="集体访", records=(f"xinfang/{fp}-{occurrences}",), rulebook_version="v1")


def _burst(engine: sa.Engine, tag: str, n: int) -> int:
    """Statements of one batch: ``n`` warnings opened (one of them raised later in the batch) and ``n``
    firings folded into warnings opened by an earlier batch, written and routed in one transaction."""
    with session_scope(engine) as s:  # the earlier batch
        earlier = apply_changes(session=s, changes=[(_state(f"{tag}-old{i}", Level.blue), Change.opened)
                                                    for i in range(n)], now=MONDAY_10_BJ)
        route_changes(s, earlier.to_route, ROUTING, MONDAY_10_BJ)
    changes = [(_state(f"{tag}-new{i}", LEVELS[i % 4]), Change.opened) for i in range(n)]
    changes += [(_state(f"{tag}-old{i}", Level.blue, 2), Change.updated) for i in range(n)]
    changes.append((_state(f"{tag}-new0", Level.red, 2), Change.raised))
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    with session_scope(engine) as s:
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            applied = apply_changes(session=s, changes=changes, now=MONDAY_10_BJ)
            route_changes(s, applied.to_route, ROUTING, MONDAY_10_BJ)
            s.flush()
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert (applied.opened, applied.raised, applied.updated) == (n, 1, n)
    return len(statements)


def test_a_burst_batch_costs_the_same_statements_whatever_its_warnings(engine: sa.Engine) -> None:
    small, large = _burst(engine, "s", 4), _burst(engine, "l", 40)
    # 4 or 40 warnings opened and 4 or 40 folded: the same few statements (one by one, the large batch
    # took over 200: an insert, an update, an outbox insert and read-back and two audit inserts each).
    assert small == large
    assert large <= 12


def test_batched_rows_are_those_of_one_by_one_writing_in_the_same_order(engine: sa.Engine) -> None:
    _burst(engine, "b", 6)
    with Session(engine) as s:
        warnings = {w.id: w.fingerprint for w in s.exec(select(WarningRow))}
        audit = [(warnings.get(a.warning_id), a.action, a.reason) for a in
                 s.exec(select(AuditRow).order_by(col(AuditRow.id)))]
        outbox = [(warnings.get(r.warning_id), r.step, r.recipient, r.channel, r.status) for r in
                  s.exec(select(OutboxRow).order_by(col(OutboxRow.id)))]
        new_ids = [i for i, fp in sorted(warnings.items()) if "new" in fp]
    assert [warnings[i] for i in new_ids] == [f"b-new{i}" for i in range(6)]  # ids in the order of the changes
    batch = audit[12:]  # after the earlier batch's 6 opened and 6 routed
    # As one by one: the batch's audit rows in the order written, its openings (and the raise) first, then
    # the routing steps of each warning routed, in routing order.
    assert batch == ([("b-new" + str(i), "opened", "") for i in range(6)] + [("b-new0", "raised", "")]
                     + [(f"b-new{i}", "routed", "open") for i in range(6)] + [("b-new0", "routed", "raise-red")])
    steps = [(fp, step) for fp, step, *_ in outbox]
    in_order = list(dict.fromkeys(steps))
    assert [k for k, _ in groupby(steps)] == in_order  # each step's rows together
    assert in_order[6:] == [(f"b-new{i}", "open") for i in range(6)] + [("b-new0", "raise-red")]  # routing order
    assert outbox[-8:] == [  # as one-by-one routing wrote them (the raise routed after every opening)
        ("b-new0", "open", "city-duty", "file", "pending"), ("b-new1", "open", "s1", "file", "pending"),
        ("b-new2", "open", "jj-duty", "file", "pending"), ("b-new2", "open", "jj-duty", "webhook", "pending"),
        ("b-new3", "open", "city-duty", "file", "pending"), ("b-new4", "open", "c1", "file", "pending"),
        ("b-new5", "open", "s1", "file", "pending"), ("b-new0", "raise-red", "city-duty", "file", "pending")]
