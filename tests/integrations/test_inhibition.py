"""Inhibition: while a cluster warning is open, the warnings it covers (target rules, its subtree, at or
below a level) are held and named in the cluster's message; when it resolves each held notification is
sent once (same key) or recorded not needed."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from domain.escalation import EscalationPolicy
from domain.inhibition import Inhibition
from integrations.notify import FakeChannel
from integrations.notify.pipeline import deliver_pending
from integrations.store.db import open_store, session_scope
from integrations.store.inhibition import release_inhibited
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from tests.escalation_helpers import (
    MONDAY_10_BJ,
    mark_resolved,
    open_with,
    outbox_statuses,
)
from tests.store_templates import StoreTemplates

T0 = MONDAY_10_BJ
POLICY = EscalationPolicy(inhibitions=(Inhibition(source="district-cluster", targets=("*petition*",),
                                                  max_level="orange"),))




def _open(engine: sa.Engine, rule: str, level: str, region: str, fp: str, minutes: int = 0,
          policy: EscalationPolicy = POLICY) -> int:
    return open_with(engine, rule, level, region, fp, minutes, policy)


_statuses = outbox_statuses
_resolve = mark_resolved


def test_a_cluster_holds_the_warnings_beneath_it_until_it_resolves(engine: sa.Engine) -> None:
    before = _open(engine, "collective-petition", "yellow", "510104001001", "y1")
    cluster = _open(engine, "district-cluster", "orange", "510104000000", "x", minutes=1)
    with Session(engine) as s:
        bodies = [r.body for r in s.exec(select(OutboxRow).where(OutboxRow.warning_id == cluster))]
    assert bodies and all(f"#{before}" in b and "涵盖" in b for b in bodies)
    held = _open(engine, "collective-petition", "yellow", "510104001001", "y2", minutes=2)
    gone = _open(engine, "repeat-petitioner", "blue", "510104001001", "y3", minutes=3)
    loud = _open(engine, "collective-petition", "red", "510104001001", "y4", minutes=4)
    elsewhere = _open(engine, "collective-petition", "yellow", "510105001001", "y5", minutes=5)
    other_rule = _open(engine, "wage-arrears-sum", "yellow", "510104001001", "y6", minutes=6)
    assert _statuses(engine, held) == _statuses(engine, gone) == {"held"}
    assert {"pending"} == _statuses(engine, loud) == _statuses(engine, elsewhere) == _statuses(engine, other_rule)
    assert _statuses(engine, before) == {"pending"}  # notified before the cluster opened
    with Session(engine) as s:
        audit = s.exec(select(AuditRow).where(AuditRow.warning_id == held, AuditRow.action == "inhibited")).one()
        assert f"#{cluster}" in audit.reason
    now = T0 + timedelta(minutes=10)
    with session_scope(engine) as s:
        assert release_inhibited(s, now=now) == {"released": 0, "not_needed": 0, "held": 2}
    _resolve(engine, gone)
    _resolve(engine, cluster)
    with session_scope(engine) as s:
        counts = release_inhibited(s, now=now)
    assert counts["released"] == len(_statuses(engine, held)) and counts["not_needed"] >= 1
    assert _statuses(engine, held) == {"pending"} and _statuses(engine, gone) == {"not_needed"}
    channel = FakeChannel("file")
    deliver_pending(engine, {"file": channel}, now=now)
    deliver_pending(engine, {"file": channel}, now=now + timedelta(hours=1))
    keys = [m.idempotency_key for m in channel.sent]
    assert len(keys) == len(set(keys)) and any(k.startswith(f"{held}:open:") for k in keys)
    assert not any(k.startswith(f"{gone}:") for k in keys)


def test_without_inhibitions_the_pinned_policy_is_unchanged() -> None:
    assert "inhibitions" not in EscalationPolicy().snapshot()
    assert POLICY.snapshot()["inhibitions"][0]["source"] == "district-cluster"
    assert EscalationPolicy.from_snapshot(POLICY.snapshot()) == POLICY


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["open", "resolve", "resolve-cluster", "sweep"]), st.integers(0, 5)),
                min_size=1, max_size=12))
def test_an_inhibition_never_loses_a_notification(tmp_path_factory: pytest.TempPathFactory,
                                                  store_templates: StoreTemplates,
                                                  events: list[tuple[str, int]]) -> None:
    engine = open_store(store_templates.sqlite_copy(tmp_path_factory.mktemp("i") / "i.db"))  # fresh per example
    try:
        cluster = _open(engine, "district-cluster", "orange", "510104000000", "x")
        channel, opened, now = FakeChannel("file"), [], T0
        both = {"file": channel, "webhook": channel}  # the district's duty office also has a webhook
        for n, (what, pick) in enumerate(events):
            now += timedelta(minutes=5)
            if what == "open":
                opened.append(_open(engine, "collective-petition", ["blue", "yellow"][pick % 2], "510104001001",
                                    f"w{n}", minutes=5 * n))
            elif what == "resolve" and opened:
                _resolve(engine, opened[pick % len(opened)])
            elif what == "resolve-cluster":
                _resolve(engine, cluster)
            with session_scope(engine) as s:
                release_inhibited(s, now=now)
            deliver_pending(engine, both, now=now)
            _never_sent_while_held(engine, {m.idempotency_key for m in channel.sent})
        _resolve(engine, cluster)  # every hold ends when its source resolves
        with session_scope(engine) as s:
            release_inhibited(s, now=now)
        deliver_pending(engine, both, now=now + timedelta(hours=1))
        sent = [m.idempotency_key for m in channel.sent]
        assert len(sent) == len(set(sent))
        with Session(engine) as s:
            for row in s.exec(select(OutboxRow)):
                w = s.get(WarningRow, row.warning_id)
                assert w is not None
                if row.status == "not_needed":
                    assert w.status == "resolved" and row.idempotency_key not in sent
                else:
                    assert row.status == "sent" and sent.count(row.idempotency_key) == 1
    finally:
        engine.dispose()


def _never_sent_while_held(engine: sa.Engine, sent: set[str]) -> None:
    """After each round: a row still held was never sent, and a row sent after a hold was sent only once
    its source had resolved (resolution is final, so checking after the round is enough)."""
    with Session(engine) as s:
        for row in s.exec(select(OutboxRow)):
            source = s.get(WarningRow, row.payload.get("inhibitor")) if row.payload.get("inhibitor") else None
            if row.status == "held":
                assert row.idempotency_key not in sent and source is not None and source.status != "resolved"
            elif row.idempotency_key in sent and source is not None:
                assert source.status == "resolved"
