"""source-stale warnings in the store: opened and routed to the city, resolved when the source returns,
once per source, on both backends; a live evaluation watches the sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain.escalation import EscalationPolicy
from domain.source_alerts import RULE
from domain.watermarks import SourceTiming
from integrations.route import Routing
from integrations.source_watch import sweep_sources
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.watermarks import note_delivery
from tests.escalation_helpers import REGIONS, small_directory

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
TIMINGS = {"xinfang": SourceTiming(stale_after=timedelta(hours=6)), "mediation": SourceTiming()}


def _routing() -> Routing:
    return Routing(EscalationPolicy(), small_directory(), REGIONS)


def _sweep(engine: sa.Engine, now: datetime) -> tuple[int, int]:
    with session_scope(engine) as s:
        return sweep_sources(s, TIMINGS, _routing(), now=now, version="v1")


def test_a_silent_source_is_warned_once_and_resolved_when_it_returns(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        note_delivery(session=s, source="xinfang", ats=[NOW - timedelta(hours=8)], now=NOW - timedelta(hours=7))
    assert _sweep(engine, NOW) == (1, 0)
    assert _sweep(engine, NOW + timedelta(minutes=5)) == (0, 0)  # not twice
    with Session(engine) as s:
        (w,) = s.exec(select(WarningRow).where(WarningRow.rule == RULE)).all()
        assert w.region == small_directory().city and w.status == "open" and w.tier == "city"
        assert s.exec(select(OutboxRow).where(OutboxRow.warning_id == w.id)).all()  # routed: someone is told
    from integrations.notify import FakeChannel
    from integrations.notify.pipeline import deliver_pending

    deliver_pending(engine, {"file": FakeChannel("file"), "webhook": FakeChannel("webhook")}, now=NOW)
    with session_scope(engine) as s:
        note_delivery(session=s, source="xinfang", ats=[NOW], now=NOW + timedelta(hours=1))
    assert _sweep(engine, NOW + timedelta(hours=1)) == (0, 1)
    with Session(engine) as s:
        w = s.exec(select(WarningRow).where(WarningRow.rule == RULE)).one()
        assert w.status == "resolved" and w.open_key is None
        actions = [a.action for a in s.exec(select(AuditRow).where(AuditRow.warning_id == w.id)).all()]
        assert actions[0] == "opened" and actions[-1] == "resolved"
        rows = s.exec(select(OutboxRow).where(OutboxRow.warning_id == w.id)).all()
        told = {(r.recipient, r.channel) for r in rows if r.step != "resolve" and r.status in ("sent", "pending")}
        assert told and told == {(r.recipient, r.channel) for r in rows if r.step == "resolve"}
    # Silent again later: a new warning, the old one stays resolved.
    assert _sweep(engine, NOW + timedelta(hours=8)) == (1, 0)
    with Session(engine) as s:
        assert sorted(w.status for w in s.exec(select(WarningRow).where(WarningRow.rule == RULE)).all()) == \
            ["open", "resolved"]


def test_sources_never_heard_from_raise_nothing(engine: sa.Engine) -> None:
    assert _sweep(engine, NOW) == (0, 0)


def test_a_source_stale_warning_reads_in_the_language_in_force(engine: sa.Engine,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.wording import audit_reason, worded
    from tests.cjk import has_cjk
    from tests.language import speak

    with session_scope(engine) as s:
        note_delivery(session=s, source="xinfang", ats=[NOW - timedelta(hours=8)], now=NOW - timedelta(hours=7))
    _sweep(engine, NOW)
    with session_scope(engine) as s:
        note_delivery(session=s, source="xinfang", ats=[NOW], now=NOW + timedelta(hours=1))
    _sweep(engine, NOW + timedelta(hours=1))
    with Session(engine) as s:
        w = s.exec(select(WarningRow).where(WarningRow.rule == RULE)).one()
        resolved = s.exec(select(AuditRow).where(AuditRow.warning_id == w.id, AuditRow.action == "resolved")).one()
    stored = [w.title, w.summary, w.explanation, resolved.reason]
    assert all(has_cjk(text) for text in stored) and "已恢复交付" in audit_reason("resolved", resolved.reason), stored
    speak(monkeypatch, "en")
    english = [worded(text) for text in stored]
    assert all(english) and not has_cjk("\n".join(english)), english
