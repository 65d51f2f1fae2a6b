"""Shared helpers of the escalation, routing and action tests: a small responders directory, warnings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from integrations.store.models import WarningRow

MONDAY_10_BJ = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # 10:00 Beijing, a Monday
MONDAY_22_BJ = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # 22:00 Beijing
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]

REGIONS = RegionDirectory.from_mapping({
    "510100000000": "成都市", "510104000000": "锦江区", "510104001000": "春熙路街道",
    "510104001001": "和平社区", "510104001002": "东风社区", "510105000000": "青羊区",
})


def chan(rid: str) -> list[dict[str, str]]:
    return [{"type": "file", "address": rid}]


def small_directory() -> ResponderDirectory:
    """City, district 510104, street 510104001, community 510104001001 (office hours only)."""
    data: dict[str, Any] = {
        "city": "510100000000",
        "leadership": [{"id": "leader", "name": "值班领导", "channels": chan("leader")}],
        "nodes": {
            "510100000000": {"responders": [
                {"id": "city-duty", "name": "市值班室", "kind": "unit", "channels": chan("city-duty")},
                {"id": "city-petition", "name": "市信访局", "kind": "unit", "unit": "petition-office",
                 "channels": chan("city-petition")}]},
            "510104000000": {"responders": [
                {"id": "jj-duty", "name": "区值班室", "kind": "unit",
                 "channels": [*chan("jj-duty"), {"type": "webhook", "address": "http://hook.test/jj"}]},
                {"id": "jj-labour", "name": "区人社局", "kind": "unit", "unit": "labour-bureau",
                 "channels": chan("jj-labour")}]},
            "510104001000": {"responders": [
                {"id": "s1", "name": "街道综治中心", "kind": "unit", "channels": chan("s1")},
                {"id": "s1-petition", "name": "街道信访办", "unit": "petition-office",
                 "channels": chan("s1-petition")}]},
            "510104001001": {"responders": [
                {"id": "c1", "name": "社区书记", "channels": chan("c1"),
                 "on_duty": [{"days": WEEKDAYS, "from": "08:30", "to": "17:30"}]}]},
        },
    }
    return ResponderDirectory.model_validate(data)




def warning(level: str = "yellow", region: str = "510104001001", rule: str = "collective-petition",
            **kw: Any) -> WarningRow:
    """A hand-made open warning (as integrations.store.warnings would write it)."""
    fp = kw.pop("fingerprint", f"fp-{rule}-{region}-{level}")
    return WarningRow(fingerprint=fp, open_key=fp, rule=rule, title=kw.pop("title", "集体访"), level=level,
                      region=region, first_at=MONDAY_10_BJ, last_at=MONDAY_10_BJ, opened_at=MONDAY_10_BJ,
                      summary=kw.pop("summary", "60 人集体访：征地补偿"),
                      explanation=kw.pop("explanation", "people=60 ≥ 50"), **kw)


def open_routed(engine: Any, level: str = "yellow", region: str = "510104001001", *,
                rule: str = "collective-petition", at: datetime = MONDAY_10_BJ, policy: Any = None, **kw: Any) -> int:
    """Write a warning and route it as opened at ``at`` (``policy``, default the default policy; the small
    directory); its id."""
    from domain.escalation import EscalationPolicy
    from integrations.route import route_warning
    from integrations.store.db import session_scope

    w = warning(level, region=region, rule=rule, **kw)
    with session_scope(engine) as s:
        s.add(w)
        s.flush()
        route_warning(session=s, warning=w, change="opened",
                      policy=policy if policy is not None else EscalationPolicy(),
                      directory=small_directory(), regions=REGIONS, now=at)
    assert w.id is not None
    return w.id


def open_with(engine: Any, rule: str, level: str, region: str, fp: str, minutes: int = 0,
              policy: Any = None) -> int:
    """Write a warning of ``rule`` with fingerprint ``fp`` and route it as opened ``minutes`` after
    Monday 10:00 Beijing under ``policy`` (default: the default policy); its id."""
    from datetime import timedelta

    return open_routed(engine, level, region, rule=rule, at=MONDAY_10_BJ + timedelta(minutes=minutes),
                       fingerprint=fp, policy=policy)


def outbox_statuses(engine: Any, wid: int) -> set[str]:
    """The statuses of the warning's outbox rows."""
    from sqlmodel import Session, select

    from integrations.store.models import OutboxRow

    with Session(engine) as s:
        return {r.status for r in s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid))}


def mark_resolved(engine: Any, wid: int) -> None:
    """Resolve the warning in the store directly (as any resolve path leaves the row)."""
    from integrations.store.db import session_scope

    with session_scope(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None
        w.status, w.open_key = "resolved", None
