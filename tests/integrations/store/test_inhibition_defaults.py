"""The shipped catalog's default inhibitions in the store (SQLite and PostgreSQL): a street warning under an
open street cluster is held and named in the cluster's message; when the cluster resolves it is sent
once if still open, or recorded not needed if it was resolved meanwhile; ``enabled: false`` in the
escalation policy switches the default off."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.escalation import EscalationPolicy
from integrations.notify import FakeChannel
from integrations.notify.pipeline import deliver_pending
from integrations.route import route_warning
from integrations.store.db import session_scope
from integrations.store.inhibition import release_inhibited
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from rules.language.inhibitions import default_inhibitions
from rules.language.loader import load_rulebook
from tests.escalation_helpers import (
    MONDAY_10_BJ,
    REGIONS,
    mark_resolved,
    open_with,
    outbox_statuses,
    small_directory,
    warning,
)

REPO = Path(__file__).resolve().parents[3]
DEFAULTS = default_inhibitions(load_rulebook([REPO / "rules" / "catalog"]).rules)
SHIPPED = EscalationPolicy.load(REPO / "integrations" / "data" / "escalation.yaml")
POLICY = SHIPPED.with_default_inhibitions(DEFAULTS)
T0 = MONDAY_10_BJ




def _open(engine: sa.Engine, rule: str, level: str, region: str, fp: str, minutes: int = 0,
          policy: EscalationPolicy = POLICY) -> int:
    return open_with(engine, rule, level, region, fp, minutes, policy)


_statuses = outbox_statuses
_resolve = mark_resolved


def test_a_street_warning_under_an_open_street_cluster_is_held_then_released_or_not_needed(
        engine: sa.Engine) -> None:
    before = _open(engine, "collective-petition", "yellow", "510104001001", "p1", 0)
    cluster = _open(engine, "street-cluster", "orange", "510104001000", "c", 1)
    with Session(engine) as s:
        bodies = [r.body for r in s.exec(select(OutboxRow).where(OutboxRow.warning_id == cluster))]
    assert bodies and all(f"#{before}" in b and "涵盖" in b for b in bodies)
    stays = _open(engine, "collective-petition", "yellow", "510104001002", "p2", 2)
    goes = _open(engine, "hotline-complaint-spike", "yellow", "510104001001", "h1", 3)
    blue = _open(engine, "hotline-complaint-spike", "blue", "510104001001", "h2", 4)  # not taken by the cluster
    red = _open(engine, "collective-petition", "red", "510104001001", "p3", 5)  # above the cluster: own message
    other = _open(engine, "collective-petition", "yellow", "510105001001", "p4", 6)  # another district
    assert _statuses(engine, stays) == _statuses(engine, goes) == {"held"}
    assert _statuses(engine, blue) == _statuses(engine, red) == _statuses(engine, other) == {"pending"}
    with Session(engine) as s:
        audit = s.exec(select(AuditRow).where(AuditRow.warning_id == stays, AuditRow.action == "inhibited")).one()
        assert f"#{cluster}" in audit.reason and "street-cluster" in audit.reason
    now = T0 + timedelta(minutes=30)
    with session_scope(engine) as s:
        held = len(_statuses_rows(engine, stays)) + len(_statuses_rows(engine, goes))
        assert release_inhibited(s, now=now) == {"released": 0, "not_needed": 0, "held": held}
    _resolve(engine, goes)
    _resolve(engine, cluster)
    with session_scope(engine) as s:
        counts = release_inhibited(s, now=now)
    assert counts == {"released": len(_statuses_rows(engine, stays)), "held": 0,
                      "not_needed": len(_statuses_rows(engine, goes))}
    assert _statuses(engine, stays) == {"pending"} and _statuses(engine, goes) == {"not_needed"}
    channel = FakeChannel("file")
    both = {"file": channel, "webhook": channel}
    deliver_pending(engine, both, now=now)
    deliver_pending(engine, both, now=now + timedelta(hours=1))
    with session_scope(engine) as s:
        assert release_inhibited(s, now=now + timedelta(hours=2)) == {"released": 0, "not_needed": 0, "held": 0}
    keys = [m.idempotency_key for m in channel.sent]
    assert len(keys) == len(set(keys))
    assert sum(k.startswith(f"{stays}:open:") for k in keys) == len(_statuses_rows(engine, stays))
    assert not any(k.startswith(f"{goes}:") for k in keys)


def _statuses_rows(engine: sa.Engine, wid: int) -> list[OutboxRow]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid)))


def test_enabled_false_in_the_policy_switches_the_default_off(engine: sa.Engine) -> None:
    off = EscalationPolicy.model_validate({"inhibitions": [
        {"source": "street-cluster", "targets": ["collective-petition"], "enabled": False}]})
    policy = off.with_default_inhibitions(DEFAULTS)
    _open(engine, "street-cluster", "orange", "510104001000", "c", 0, policy)
    petition = _open(engine, "collective-petition", "yellow", "510104001001", "p", 1, policy)
    hotline = _open(engine, "hotline-complaint-spike", "yellow", "510104001001", "h", 2, policy)
    assert _statuses(engine, petition) == {"pending"} and _statuses(engine, hotline) == {"held"}


def test_in_one_transaction_a_cluster_opened_holds_the_later_ones_and_a_resolved_one_does_not(
        engine: sa.Engine) -> None:
    def route(s: Session, rule: str, level: str, region: str, fp: str) -> WarningRow:
        w = warning(level, region=region, rule=rule, fingerprint=fp)
        s.add(w)
        s.flush()
        route_warning(session=s, warning=w, change="opened", policy=POLICY, directory=small_directory(),
                      regions=REGIONS, now=T0)
        return w

    with session_scope(engine) as s:  # as one evaluation batch: the sources are read once, at the first
        first = route(s, "collective-petition", "yellow", "510104001001", "p1")
        cluster = route(s, "street-cluster", "orange", "510104001000", "c")
        later = route(s, "collective-petition", "yellow", "510104001002", "p2")
        cluster.status, cluster.open_key = "resolved", None
        s.add(cluster)
        after = route(s, "collective-petition", "yellow", "510104001001", "p3")
    assert first.id and later.id and after.id
    assert _statuses(engine, first.id) == {"pending"} and _statuses(engine, later.id) == {"held"}
    assert _statuses(engine, after.id) == {"pending"}
