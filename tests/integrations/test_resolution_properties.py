"""Resolving a warning and telling who was told (``integrations.resolution``), and the property that a
silence or an inhibition never loses a notification: every held one is either sent when the hold ends with
its warning still open, or recorded ``not_needed`` because the warning resolved — exactly once per
idempotency key either way, resolve messages included. The property runs through the real resolve path
(``resolve_as``) on SQLite (30 examples) and PostgreSQL (8, to stay fast)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from domain.escalation import EscalationPolicy
from domain.inhibition import Inhibition
from integrations.notify import FakeChannel
from integrations.notify.pipeline import deliver_pending
from integrations.resolution import resolve_as, resolve_key
from integrations.route import Routing
from integrations.store.db import session_scope
from integrations.store.inhibition import release_inhibited
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.silences import SilenceRow, add_silence, expire_silence, release_held
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, open_with, small_directory
from tests.store_templates import StoreTemplates

T0 = MONDAY_10_BJ
CLUSTER_RULE = "district-cluster"
POLICY = EscalationPolicy(inhibitions=(Inhibition(source=CLUSTER_RULE, targets=("*petition*",), max_level="orange"),))
ROUTING = Routing(policy=POLICY, directory=small_directory(), regions=REGIONS)
Events = list[tuple[str, int]]


def _resolve(engine: sa.Engine, wid: int, now: object) -> None:
    with session_scope(engine) as s:
        resolve_as(session=s, warning_id=wid, responder="city-duty", directory=ROUTING.directory,
                   reason="已化解", now=now, routing=ROUTING)  # type: ignore[arg-type]


def _silence(engine: sa.Engine, hours: float, *, now: object = T0, region: str | None = None) -> int:
    with session_scope(engine) as s:
        row = add_silence(s, directory=small_directory(), author="city-duty", rule="collective-petition",
                          region=region, level="yellow", category=None, until=T0 + timedelta(hours=hours),
                          reason="听证会", now=now, max_length=timedelta(hours=72))  # type: ignore[arg-type]
    assert row.id is not None
    return row.id


def _rows(engine: sa.Engine, wid: int, step: str | None = None) -> list[OutboxRow]:
    with Session(engine) as s:
        query = select(OutboxRow).where(OutboxRow.warning_id == wid)
        if step is not None:
            query = query.where(OutboxRow.step == step)
        return list(s.exec(query.order_by(col(OutboxRow.id))))


# --- telling who was told ---------------------------------------------------------------------------------


def test_a_resolve_tells_every_recipient_sent_an_earlier_step_once(engine: sa.Engine) -> None:
    wid = open_with(engine, "collective-petition", "orange", "510104001001", "a")
    told = {(r.recipient, r.channel) for r in _rows(engine, wid)}
    assert ("jj-duty", "webhook") in told  # the district's duty office has two channels: both are told
    deliver_pending(engine, {"file": FakeChannel("file"), "webhook": FakeChannel("webhook")}, now=T0)
    _resolve(engine, wid, T0 + timedelta(hours=1))
    rows = _rows(engine, wid, "resolve")
    assert {(r.recipient, r.channel) for r in rows} == told
    assert {r.idempotency_key for r in rows} == {resolve_key(wid, r, c) for r, c in told}
    assert all(r.status == "pending" and "已办结" in r.subject for r in rows)
    with session_scope(engine) as s:  # telling again writes nothing new
        from integrations.resolution import tell_resolved

        w = s.get(WarningRow, wid)
        assert w is not None
        assert [r.id for r in tell_resolved(s, w, routing=ROUTING, now=T0 + timedelta(hours=2))] == [
            r.id for r in rows]


def test_nobody_is_told_of_a_warning_whose_every_notification_was_held(engine: sa.Engine) -> None:
    _silence(engine, 3)
    wid = open_with(engine, "collective-petition", "yellow", "510104001001", "a", minutes=1)
    assert {r.status for r in _rows(engine, wid)} == {"silenced"}
    _resolve(engine, wid, T0 + timedelta(minutes=30))
    assert _rows(engine, wid, "resolve") == []
    assert {r.status for r in _rows(engine, wid)} == {"not_needed"}


def test_a_silence_in_force_at_the_resolve_records_the_resolve_messages_not_needed(engine: sa.Engine) -> None:
    wid = open_with(engine, "collective-petition", "yellow", "510104001001", "a")
    deliver_pending(engine, {"file": FakeChannel("file")}, now=T0)
    assert {r.status for r in _rows(engine, wid)} == {"sent"}
    _silence(engine, 3, now=T0 + timedelta(minutes=5))
    _resolve(engine, wid, T0 + timedelta(minutes=30))
    rows = _rows(engine, wid, "resolve")
    assert rows and {r.status for r in rows} == {"not_needed"} and "静默" in rows[0].last_error


def test_an_open_cluster_at_the_resolve_records_the_resolve_messages_not_needed(engine: sa.Engine) -> None:
    wid = open_with(engine, "collective-petition", "yellow", "510104001001", "a", policy=POLICY)
    deliver_pending(engine, {"file": FakeChannel("file")}, now=T0)
    cluster = open_with(engine, CLUSTER_RULE, "orange", "510104000000", "x", minutes=1, policy=POLICY)
    _resolve(engine, wid, T0 + timedelta(minutes=30))
    rows = _rows(engine, wid, "resolve")
    assert rows and {r.status for r in rows} == {"not_needed"} and f"#{cluster}" in rows[0].last_error


def test_a_rule_resolving_its_quiet_warning_tells_whoever_was_told(engine: sa.Engine) -> None:
    from integrations.staleness import Staleness, stale_sweep

    wid = open_with(engine, "collective-petition", "orange", "510104001001", "a")
    deliver_pending(engine, {"file": FakeChannel("file"), "webhook": FakeChannel("webhook")}, now=T0)
    with session_scope(engine) as s:
        counts = stale_sweep(s, {"collective-petition": Staleness(timedelta(hours=1), auto_resolve=True)},
                             routing=ROUTING, event_now=T0 + timedelta(hours=2), now=T0 + timedelta(hours=2))
    assert counts == {"stale": 0, "resolved": 1}
    told = {(r.recipient, r.channel) for r in _rows(engine, wid) if r.step != "resolve"}
    rows = _rows(engine, wid, "resolve")
    assert {(r.recipient, r.channel) for r in rows} == told and {r.status for r in rows} == {"pending"}


# --- the property --------------------------------------------------------------------------------------------


def _run(engine: sa.Engine, events: Events, hours: float) -> None:
    """Play ``events`` against a silence of ``hours`` and an open district cluster, resolving through
    ``resolve_as``; after each round and at the end check that nothing held was sent and nothing was lost."""
    sid = _silence(engine, hours)
    cluster = open_with(engine, CLUSTER_RULE, "orange", "510104000000", "x", policy=POLICY)
    channel = FakeChannel("file")
    both = {"file": channel, "webhook": channel}
    now, opened = T0, []
    _sweep(engine, both, now)
    for n, (what, pick) in enumerate(events):
        now += timedelta(minutes=20)
        if what == "open":  # under the cluster (held by both), or in another district (silence only)
            region = ["510104001001", "510105000000"][pick % 2]
            level = ["blue", "yellow", "orange"][pick % 3]
            opened.append(open_with(engine, "collective-petition", level, region, f"w{n}",
                                    minutes=20 * (n + 1), policy=POLICY))
        elif what == "resolve" and opened and _open(engine, wid := opened[pick % len(opened)]):
            _resolve(engine, wid, now)
        elif what == "resolve-cluster" and _open(engine, cluster):
            _resolve(engine, cluster, now)
        elif what == "expire":
            with session_scope(engine) as s:
                expire_silence(s, sid, actor="city-duty", now=now)
        _sweep(engine, both, now)
        _never_sent_while_held(engine, [m.idempotency_key for m in channel.sent])
    if _open(engine, cluster):
        _resolve(engine, cluster, now)  # every inhibition ends when its source resolves
    end = max(now, T0 + timedelta(hours=hours)) + timedelta(minutes=1)  # and every silence at `until`
    _sweep(engine, both, end)
    _sweep(engine, both, end + timedelta(hours=1))
    sent = [m.idempotency_key for m in channel.sent]
    assert len(sent) == len(set(sent)), "exactly once per idempotency key"
    with Session(engine) as s:
        for row in s.exec(select(OutboxRow).order_by(col(OutboxRow.id))):
            w = s.get(WarningRow, row.warning_id)
            assert w is not None
            if row.status == "not_needed":
                assert row.idempotency_key not in sent
                assert w.status == "resolved" or row.step == "resolve"
            else:
                assert row.status == "sent" and sent.count(row.idempotency_key) == 1, row
                if row.step != "resolve" and w.resolved_at is not None:  # nothing goes out once closed (no retries)
                    assert row.sent_at is not None and row.sent_at < w.resolved_at, row
            if row.step == "resolve":  # told only those told before
                earlier = s.exec(select(OutboxRow).where(
                    OutboxRow.warning_id == row.warning_id, OutboxRow.recipient == row.recipient,
                    OutboxRow.channel == row.channel, OutboxRow.step != "resolve",
                    OutboxRow.status == "sent")).first()
                assert earlier is not None, row


def _open(engine: sa.Engine, wid: int) -> bool:
    with Session(engine) as s:
        w = s.get(WarningRow, wid)
        return w is not None and w.status != "resolved"


def _sweep(engine: sa.Engine, channels: dict[str, FakeChannel], now: object) -> None:
    with session_scope(engine) as s:
        release_held(s, now=now)  # type: ignore[arg-type]
        release_inhibited(s, now=now)  # type: ignore[arg-type]
    deliver_pending(engine, channels, now=now)  # type: ignore[arg-type]


def _never_sent_while_held(engine: sa.Engine, sent: list[str]) -> None:
    with Session(engine) as s:
        for row in s.exec(select(OutboxRow).where(col(OutboxRow.status).in_(["silenced", "held"]))):
            assert row.idempotency_key not in sent
            if row.status == "silenced":
                silence = s.get(SilenceRow, row.payload["silence"])
                assert silence is not None and silence.expired_at is None
            else:
                source = s.get(WarningRow, row.payload["inhibitor"])
                assert source is not None and source.status != "resolved"


EVENTS = st.lists(st.tuples(st.sampled_from(["open", "open", "resolve", "resolve-cluster", "expire", "sweep"]),
                            st.integers(0, 5)), min_size=1, max_size=12)
HOURS = st.sampled_from([1.0, 3.0])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(EVENTS, HOURS)
def test_a_hold_never_loses_a_notification_sqlite(store_templates: StoreTemplates, events: Events,
                                                  hours: float) -> None:
    with store_templates.store("sqlite") as engine:  # a fresh store per example
        _run(engine, events, hours)


@pytest.mark.postgres
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(EVENTS, HOURS)
def test_a_hold_never_loses_a_notification_postgres(pg_templates: StoreTemplates, events: Events,
                                                    hours: float) -> None:
    with pg_templates.store("postgres") as engine:  # a fresh store per example
        _run(engine, events, hours)
