"""Routing: level → ancestor node → responders, outbox rows with idempotency keys, audit, policy pinning."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.escalation import EscalationPolicy
from integrations.route import route_warning
from integrations.settings import PACKAGE_ROOT
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from tests.escalation_helpers import MONDAY_10_BJ, MONDAY_22_BJ, REGIONS, small_directory, warning

POLICY = EscalationPolicy.load(PACKAGE_ROOT / "integrations" / "data" / "escalation.yaml")
PLAIN = EscalationPolicy()  # no overrides


def _route(engine: sa.Engine, w: WarningRow, change: str = "opened", policy: EscalationPolicy = PLAIN,
           now: datetime = MONDAY_10_BJ, categories: tuple[str, ...] | list[str] = ()) -> list[OutboxRow]:
    with session_scope(engine) as s:
        s.add(w)
        s.flush()
        rows = route_warning(session=s, warning=w, change=change, policy=policy, directory=small_directory(),
                             regions=REGIONS, now=now, categories=categories)
    return rows


def test_orange_goes_to_the_district_with_pinned_policy_and_deadlines(engine: sa.Engine) -> None:
    w = warning("orange")
    rows = _route(engine, w)
    assert (w.tier, w.route_region) == ("district", "510104000000")
    assert w.policy["id"] == PLAIN.snapshot()["id"]
    assert w.ack_due_at == MONDAY_10_BJ + timedelta(minutes=30)
    assert w.resolve_due_at == MONDAY_10_BJ + timedelta(hours=72)
    assert sorted((r.recipient, r.channel) for r in rows) == [("jj-duty", "file"), ("jj-duty", "webhook")]
    assert {r.idempotency_key for r in rows} == {f"{w.id}:open:jj-duty:file", f"{w.id}:open:jj-duty:webhook"}
    assert all(r.status == "pending" and r.next_attempt_at == MONDAY_10_BJ for r in rows)
    webhook = next(r for r in rows if r.channel == "webhook")
    assert webhook.address == "http://hook.test/jj"
    assert webhook.subject.startswith("【橙色预警】集体访 — 锦江区 春熙路街道 和平社区")


def test_each_level_reaches_its_tier(engine: sa.Engine) -> None:
    got = {}
    for level in ("blue", "yellow", "orange", "red"):
        w = warning(level)
        rows = _route(engine, w)
        got[level] = (w.tier, w.route_region, sorted({r.recipient for r in rows}))
    assert got == {
        "blue": ("community", "510104001001", ["c1"]),
        "yellow": ("street", "510104001000", ["s1"]),
        "orange": ("district", "510104000000", ["jj-duty"]),
        "red": ("city", "510100000000", ["city-duty"]),
    }


def test_a_node_without_responders_falls_back_upward(engine: sa.Engine) -> None:
    w = warning("blue", region="510104001002")  # community nobody staffs
    rows = _route(engine, w)
    assert (w.tier, w.route_region) == ("community", "510104001002")  # responsibility stays with the node
    assert {r.recipient for r in rows} == {"s1"}
    w2 = warning("blue", region="510104001001", fingerprint="night")
    assert {r.recipient for r in _route(engine, w2, now=MONDAY_22_BJ)} == {"s1"}  # secretary off duty


def test_routing_twice_writes_nothing_new(engine: sa.Engine) -> None:
    w = warning("red")
    first = _route(engine, w)
    with session_scope(engine) as s:
        again = s.get(WarningRow, w.id)
        assert again is not None
        second = route_warning(session=s, warning=again, change="opened", policy=PLAIN,
                               directory=small_directory(), regions=REGIONS,
                               now=MONDAY_10_BJ + timedelta(hours=1))
        assert again.ack_due_at == MONDAY_10_BJ + timedelta(minutes=15)  # unchanged by the re-run
    assert [r.idempotency_key for r in first] == [r.idempotency_key for r in second]
    with Session(engine) as s:
        assert len(s.exec(select(OutboxRow)).all()) == len(first)
        routed = s.exec(select(AuditRow).where(AuditRow.action == "routed")).all()
        assert [a.reason for a in routed] == ["open"]
        assert routed[0].detail["recipients"] == ["city-duty"]


def test_a_raise_reroutes_to_the_higher_tier(engine: sa.Engine) -> None:
    w = warning("yellow")
    _route(engine, w)
    with session_scope(engine) as s:
        row = s.get(WarningRow, w.id)
        assert row is not None
        row.level = "red"
        later = MONDAY_10_BJ + timedelta(minutes=5)
        rows = route_warning(session=s, warning=row, change="raised", policy=PLAIN,
                             directory=small_directory(), regions=REGIONS, now=later)
        assert (row.tier, row.route_region, row.escalation_step) == ("city", "510100000000", 0)
        assert row.ack_due_at == later + timedelta(minutes=15)
        assert row.resolve_due_at == later + timedelta(hours=24)
    assert {r.step for r in rows} == {"raise-red"}
    assert {r.recipient for r in rows} == {"city-duty"}


def test_category_overrides_add_specialist_units(engine: sa.Engine) -> None:
    w = warning("yellow", rule="collective-petition")
    rows = _route(engine, w, policy=POLICY)
    assert {r.recipient for r in rows} == {"s1", "s1-petition"}
    w2 = warning("yellow", rule="dispute-cluster", region="510104001002")
    rows2 = _route(engine, w2, policy=POLICY, categories=["wage_arrears"])
    assert {r.recipient for r in rows2} == {"s1", "jj-labour"}


def test_the_pinned_policy_wins_over_a_new_one(engine: sa.Engine) -> None:
    w = warning("orange")
    _route(engine, w)
    stricter = EscalationPolicy.model_validate({"levels": {
        lv: {"tier": "city", "acknowledge_within": "1m", "resolve_within": "1h", "remind_every": "1m"}
        for lv in ("blue", "yellow", "orange", "red")}})
    with session_scope(engine) as s:
        row = s.get(WarningRow, w.id)
        assert row is not None
        now = MONDAY_10_BJ + timedelta(hours=1)
        route_warning(session=s, warning=row, change="escalated", policy=stricter,
                      directory=small_directory(), regions=REGIONS, now=now)
        # The pinned default policy: orange acknowledges within 30 minutes, not the new 1 minute.
        assert row.ack_due_at == now + timedelta(minutes=30)
        assert (row.tier, row.escalation_step) == ("city", 1)


def test_links_are_made_per_recipient_when_asked(engine: sa.Engine) -> None:
    def links(warning_id: int, responder: str, now: datetime) -> dict[str, str]:
        return {"ack": f"https://fh.test/a/{warning_id}-{responder}"}

    w = warning("orange")
    with session_scope(engine) as s:
        s.add(w)
        s.flush()
        rows = route_warning(session=s, warning=w, change="opened", policy=PLAIN, directory=small_directory(),
                             regions=REGIONS, now=MONDAY_10_BJ, links=links)
    url = f"https://fh.test/a/{w.id}-jj-duty"
    assert all(r.payload["links"] == {"ack": url} and f"一键确认：{url}" in r.body for r in rows)


def test_a_batch_reads_its_routed_steps_once_and_still_routes_each_step_once(engine: sa.Engine) -> None:
    from integrations.route import Routing, route_changes

    done = warning("red", fingerprint="done")
    _route(engine, done)  # routed by an earlier batch: its "open" step is already there
    routing = Routing(policy=PLAIN, directory=small_directory(), regions=REGIONS)
    reads: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM audit" in statement:
            reads.append(statement)

    with session_scope(engine) as s:
        fresh = [warning("yellow", fingerprint=f"new{i}", region="510104001001") for i in range(5)]
        s.add_all(fresh)
        again = s.get(WarningRow, done.id)
        assert again is not None
        s.flush()
        changes: list[tuple[WarningRow, str]] = [(w, "opened") for w in fresh] + [(again, "opened")]
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            route_changes(s, changes, routing, MONDAY_10_BJ)
            fresh[0].level = "red"  # raised later in the same batch: a step of its own, routed once
            route_changes(s, [(fresh[0], "raised"), (fresh[0], "raised")], routing, MONDAY_10_BJ)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert len(reads) == 2  # one read of the routed steps per batch, not one per warning
    with Session(engine) as s:
        routed = s.exec(select(AuditRow).where(AuditRow.action == "routed")).all()
    steps = sorted((a.warning_id, a.reason) for a in routed)
    assert steps == sorted([(done.id, "open"), *((w.id, "open") for w in fresh), (fresh[0].id, "raise-red")])
