"""A hand-made week for the 考核 report tests: W = Monday 2026-01-12 … Sunday 2026-01-18, Beijing time.

Streets A (510104001000) and B (510104002000) lie in 锦江区, street C (510105001000) in 青羊区; the
expected figures are worked out in the comments, and :data:`EXPECTED` sums them up per street.

Scores (default weights ack .25, resolve .20, escalation .15, tasks .15, visits .10, cases .15):
A: ack 1, resolve 1/2, escalation 1, tasks 1, visits 1, cases 1/2 → 82.5.
B: every component 0 → 0.
C: ack 1, escalation 1, tasks 0, cases 1 (resolve and visits have nothing judged) → .55/.70 → 78.571429.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from domain.kaohe.compute import KaoheInputs
from domain.kaohe.period import Period, period_containing
from domain.kaohe.views import CaseFacts, Escalation, TaskFacts, Visit, VisitDue, WarningFacts
from domain.records import Record
from domain.regions import RegionDirectory
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, WarningRow
from integrations.store.records import upsert_records
from integrations.store.task_models import TaskRow

BJ = ZoneInfo("Asia/Shanghai")
WEEK: Period = period_containing("week", date(2026, 1, 14))
NOW = datetime(2026, 1, 19, 8, 0, tzinfo=BJ)  # Monday 08:00 after the week
JINJIANG, QINGYANG, CITY = "510104000000", "510105000000", "510100000000"
A, B, C = "510104001000", "510104002000", "510105001000"
REGIONS = RegionDirectory.from_mapping({
    CITY: "成都市", JINJIANG: "锦江区", QINGYANG: "青羊区", A: "甲街道", B: "乙街道", C: "丙街道",
    "510104001001": "甲一社区",
})


def day(n: int, hour: int, minute: int = 0) -> datetime:
    """Beijing time on day ``n`` of the week (0 = Monday 2026-01-12; negative before it)."""
    return datetime(2026, 1, 12, hour, minute, tzinfo=BJ) + timedelta(days=n)


def warnings() -> list[WarningFacts]:
    """Five warnings; ``ack_due_at`` is the deadline pinned at open."""
    return [
        # 1, A: acknowledged and resolved in time → ack met, resolve met; received by A.
        WarningFacts(1, "510104001001", day(0, 9), acknowledged_at=day(0, 9, 10), resolved_at=day(0, 15),
                     ack_due_at=day(0, 9, 30), resolve_due_at=day(1, 9)),
        # 2, B: not acknowledged by 10:30, escalated twice (community → street → district), acknowledged
        # at noon by the district; never resolved → ack breached, resolve breached; received by B.
        WarningFacts(2, "510104002001", day(1, 10), acknowledged_at=day(1, 12), ack_due_at=day(1, 10, 30),
                     resolve_due_at=day(4, 10)),
        # 3, C: acknowledged in time; resolve deadline after the week → resolve not judged; received by C.
        WarningFacts(3, "510105001001", day(2, 8), acknowledged_at=day(2, 8, 20), ack_due_at=day(2, 8, 30),
                     resolve_due_at=day(8, 8)),
        # 4, A: opened before the week (its acknowledgement judged then); resolved a day late in the week.
        WarningFacts(4, "510104001002", day(-4, 9), acknowledged_at=day(-4, 9, 5), resolved_at=day(2, 9),
                     ack_due_at=day(-4, 9, 30), resolve_due_at=day(1, 9)),
        # 5, the city itself: counts for no district or street.
        WarningFacts(5, CITY, day(0, 8), acknowledged_at=day(0, 10), ack_due_at=day(0, 8, 30),
                     resolve_due_at=day(1, 8)),
    ]


def escalations() -> list[Escalation]:
    """Warning 2 escalated from its community, then from street B: one warning escalated for B and 锦江."""
    return [Escalation(2, day(1, 10, 30), "510104002001"), Escalation(2, day(1, 11, 30), B)]


def tasks() -> list[TaskFacts]:
    """t1 A met; t2 B breached (not done); t3 A due next week (not judged); t4 C done after the week."""
    return [
        TaskFacts(1, "510104001001001", day(0, 12), day(0, 11)),
        TaskFacts(2, B, day(2, 12), None),
        TaskFacts(3, "510104001001", day(9, 12), None),
        TaskFacts(4, "510105001001", day(6, 23), day(7, 9)),
    ]


def dues() -> list[VisitDue]:
    """p1 A visited next day (met); p2 B visited after 4 days (breached); p3 C due Sunday, its 72 hours
    run past the week (pending); p4 due the week before (not judged)."""
    return [VisitDue("p1", "510104001001001", day(0, 9)), VisitDue("p2", "510104002001", day(1, 9)),
            VisitDue("p3", "510105001001", day(6, 9)), VisitDue("p4", "510104001001", day(-3, 9))]


def visits() -> list[Visit]:
    """The visits made (p9 is someone without a due visit)."""
    return [Visit("p1", day(1, 9)), Visit("p2", day(5, 9)), Visit("p3", day(7, 10)), Visit("p9", day(2, 9))]


def cases() -> list[CaseFacts]:
    """Petitions (60 days) and disputes (30 days) whose deadline or conclusion falls in the week."""
    return [
        # A: first 2025-11-15 (+60 d = 01-14, in the week), concluded 01-10 → met.
        CaseFacts("petition", "x1", "510104001001", day(-58, 9), day(-2, 9)),
        # B: first 2025-11-16 (+60 d = 01-15), not concluded → breached.
        CaseFacts("petition", "x2", "510104002001", day(-57, 9), None),
        # C: first 2025-12-20 (+30 d = 01-19, after the week), concluded 01-13 → met.
        CaseFacts("dispute", "d1", "510105001001", day(-23, 9), day(1, 9)),
        # A: first 2025-12-14 (+30 d = 01-13), concluded 01-16 → breached.
        CaseFacts("dispute", "d2", "510104001001", day(-29, 9), day(4, 9)),
    ]


def inputs() -> KaoheInputs:
    """The whole scenario as plain views."""
    return KaoheInputs(warnings=warnings(), escalations=escalations(), tasks=tasks(), dues=dues(),
                       visits=visits(), cases=cases())


EXPECTED: dict[str, dict[str, Any]] = {
    A: {"received": 1, "ack": (1, 0), "resolve": (1, 1), "escalated": 0, "tasks": (1, 0), "visits": (1, 0),
        "petitions": (1, 0), "disputes": (0, 1), "score": 82.5},
    B: {"received": 1, "ack": (0, 1), "resolve": (0, 1), "escalated": 1, "tasks": (0, 1), "visits": (0, 1),
        "petitions": (0, 1), "disputes": (0, 0), "score": 0.0},
    C: {"received": 1, "ack": (1, 0), "resolve": (0, 0), "escalated": 0, "tasks": (0, 1), "visits": (0, 0),
        "petitions": (0, 0), "disputes": (1, 0), "score": 78.571429},
}
"""(met, breached) per figure and the score of each street."""



def _routed(wid: int, at: datetime, reason: str, change: str, source: str, due: datetime) -> AuditRow:
    return AuditRow(warning_id=wid, at=at, actor="system:router", action="routed", reason=reason,
                    detail={"change": change, "from": {"tier": "", "node": source}, "to": {},
                            "ack_due_at": due.isoformat()})


def store(engine: sa.Engine, *, with_tasks: bool = True) -> None:
    """Write the scenario as the pipeline would leave it: warnings whose ``ack_due_at`` moved on with each
    escalation (the pinned one is in the ``open`` routing audit), tasks, care-visit and case records."""
    with session_scope(engine) as session:
        for w in warnings():
            moved = day(1, 12, 30) if w.id == 2 else w.ack_due_at
            session.add(WarningRow(
                id=w.id, fingerprint=f"fp{w.id}", open_key=None if w.resolved_at else f"fp{w.id}", rule="r",
                level="yellow", status="resolved" if w.resolved_at else "acknowledged", region=w.region,
                first_at=w.opened_at, last_at=w.opened_at, opened_at=w.opened_at,
                acknowledged_at=w.acknowledged_at, resolved_at=w.resolved_at, ack_due_at=moved,
                resolve_due_at=w.resolve_due_at, escalation_step=2 if w.id == 2 else 0))
        session.flush()
        for w in warnings():
            assert w.ack_due_at is not None
            session.add(_routed(w.id, w.opened_at, "open", "opened", "", w.ack_due_at))
        for i, e in enumerate(escalations(), 1):
            session.add(_routed(e.warning_id, e.at, f"escalate-{i}", "escalated", e.from_node, day(1, 12, 30)))
        # An acknowledgement audit is not an escalation, whatever its detail says.
        session.add(AuditRow(warning_id=1, at=day(0, 9, 10), actor="x", action="acknowledged",
                             detail={"change": "escalated", "from": {"node": A}}))
        records = [Record(kind="care_visit_due", id=f"due-{d.person}", at=d.at, region=d.region,
                          attributes={"person": d.person, "program": "独居老人"}) for d in dues()]
        records += [Record(kind="care_visit", id=f"visit-{v.person}", at=v.at, region="510104001001",
                           attributes={"person": v.person, "program": "独居老人"}) for v in visits()]
        first = [Record(kind=c.kind, id=c.key, at=c.first_at, region=c.region,
                        attributes={"person": "someone", "status": "open"}) for c in cases()]
        upsert_records(session=session, records=first)
        session.flush()
        # Each concluded case gets a second version, at its conclusion, with a concluded status.
        later = [Record(kind=c.kind, id=c.key, at=c.concluded_at, region=c.region,
                        attributes={"person": "someone", "status": "resolved" if c.kind == "dispute" else "closed"})
                 for c in cases() if c.concluded_at]
        upsert_records(session=session, records=[*records, *later])
    if with_tasks:
        with session_scope(engine) as session:
            for t in tasks():
                session.add(TaskRow(id=t.id, warning_id=1, kind="verify", region=t.region, tier="community",
                                    status="done" if t.done_at else "overdue", due_at=t.due_at, done_at=t.done_at,
                                    created_at=t.due_at))
