"""The demo's noise section alone (``flows.demo_noise.noise_section``, what ``fenghuo demo`` plays after its
rounds), on a fresh store with the shipped files: a silence during a round, a street cluster holding its
communities' warnings, a warning gone stale — and the summary says how many were held and why, and what
became of them."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from flows.context import RoutingContext
from flows.demo_noise import noise_line, noise_section
from integrations.notify import FakeChannel
from integrations.settings import get_settings
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from rules.language.loader import load_rulebook

AT = datetime(2026, 2, 4, 2, 20, tzinfo=UTC)  # the demo's month is over: 10:20 in Beijing


def _by_rule(engine: sa.Engine) -> dict[str, WarningRow]:
    with Session(engine) as s:
        return {w.rule: w for w in s.exec(select(WarningRow))}


def _steps(engine: sa.Engine, wid: int | None) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with Session(engine) as s:
        for r in s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid).order_by(col(OutboxRow.id))):
            out.setdefault(r.step, set()).add(r.status)
    return out


def test_the_noise_section_holds_releases_and_says_why(engine: sa.Engine) -> None:
    settings = get_settings()
    file = FakeChannel("file")
    counts = noise_section(engine, RoutingContext.load(settings).routing(), {"file": file}, at=AT,
                           rules=load_rulebook([settings.rulebook]).rules)
    w = _by_rule(engine)
    petition, cluster = w["collective-petition"], w["street-cluster"]
    held, gone, spike = w["hotline-many-callers"], w["wage-arrears-sum"], w["hotline-complaint-spike"]

    # The silence held the petition during its half hour; it went out, once, when the silence ended.
    assert _steps(engine, petition.id) == {"open": {"sent"}} and petition.status == "open"
    # The street cluster held the warnings of its communities opened after it; the one resolved meanwhile
    # was not needed (and nobody is told it is closed: nobody heard of it), the other went out when the
    # cluster was resolved.
    with Session(engine) as s:
        inhibitors = {r.payload.get("inhibitor") for r in s.exec(select(OutboxRow).where(
            col(OutboxRow.warning_id).in_([held.id, gone.id])))}
    assert inhibitors == {cluster.id}
    assert _steps(engine, gone.id) == {"open": {"not_needed"}} and gone.status == "resolved"
    assert _steps(engine, held.id) == {"open": {"sent"}} and held.status == "open"
    assert cluster.status == "resolved" and _steps(engine, cluster.id)["resolve"] == {"sent"}
    # Quiet for four days past its rule's 72 h: stale, and its holder told 可办结.
    assert spike.status == "stale" and _steps(engine, spike.id)["stale-1"] == {"sent"}
    with Session(engine) as s:
        assert s.exec(select(AuditRow).where(AuditRow.warning_id == spike.id, AuditRow.action == "stale")).one()
    sent = [m.idempotency_key for m in file.sent]
    assert len(sent) == len(set(sent))

    rows = {k: _count(engine, v.id) for k, v in w.items()}
    n_held = rows["hotline-many-callers"] + rows["wage-arrears-sum"]
    assert counts.silenced == rows["collective-petition"] >= 1 and counts.stale == 1
    assert counts.inhibited == {cluster.id: n_held}
    assert counts.outcome == {"sent": rows["collective-petition"] + rows["hotline-many-callers"],
                              "not_needed": rows["wage-arrears-sum"]}
    line = noise_line(counts)
    assert line.startswith(f"降噪：暂缓通知 {counts.silenced + n_held} 条 — 静默 {counts.silenced} 条；"
                           f"被聚集预警压制 {n_held} 条")
    assert f"#{cluster.id}（街道预警聚集）{n_held} 条" in line and "可办结的预警 1 条" in line
    assert f"不再需要（已办结）{rows['wage-arrears-sum']} 条，仍暂缓 0 条" in line


def _count(engine: sa.Engine, wid: int | None) -> int:
    """The warning's open-step rows (one per recipient and channel)."""
    with Session(engine) as s:
        return len(s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid, OutboxRow.step == "open")).all())
