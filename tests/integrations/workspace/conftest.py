"""A small city for the workspace's tests: a district, two neighbouring streets with an officer each, the
duty leadership; warnings in each street; one account per person (password :data:`PASSWORD`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from integrations.settings import PACKAGE_ROOT, Settings
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.users import UserAccountRow, add_account

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # Friday 10:00 in Beijing
PASSWORD = "a long test password"
SETTINGS = Settings(link_secret="workspace-test-link", session_secret="workspace-test-session",
                    public_base_url="http://testserver")
STREET_A, STREET_B = "510104001000", "510104002000"  # 江果桥街道 and 兴双台街道, both in 锦江区
ACCOUNTS = {"leader": "leader", "district": "jj-duty", "street-a": "jgq-officer", "street-b": "xst-officer"}


def directory() -> ResponderDirectory:
    """The test city's responders."""
    def person(pid: str, name: str) -> dict[str, Any]:
        return {"id": pid, "name": name, "channels": [{"type": "file", "address": pid}]}

    return ResponderDirectory.model_validate({
        "city": "510100000000",
        "leadership": [person("leader", "市值班领导")],
        "nodes": {
            "510104000000": {"responders": [person("jj-duty", "锦江区值班室")]},
            STREET_A: {"responders": [person("jgq-officer", "江果桥街道综治专干")]},
            STREET_B: {"responders": [person("xst-officer", "兴双台街道综治专干")]},
        },
    })


def regions() -> RegionDirectory:
    """The shipped region names (synthetic Chengdu)."""
    return RegionDirectory.load(PACKAGE_ROOT / "integrations" / "data" / "regions.yaml")


def seed(engine: sa.Engine) -> dict[str, int]:
    """Warnings in street A (red, open; yellow, acknowledged) and street B (orange, open); accounts."""
    people = directory()
    out: dict[str, int] = {}
    with session_scope(engine) as s:
        for name, (region, level, status, title) in {
            "a-red": ("510104001001", "red", "open", "集体访苗头：征地补偿 13812345678"),
            "a-yellow": ("510104001002", "yellow", "acknowledged", "矛盾纠纷反复调解未果"),
            "b-orange": ("510104002001", "orange", "open", "欠薪投诉集中"),
        }.items():
            w = WarningRow(fingerprint=f"fp-{name}", open_key=f"fp-{name}", rule="collective-petition",
                           title=title, level=level, status=status, region=region, tier="street",
                           route_region=region[:9] + "000", first_at=NOW - timedelta(hours=3),
                           last_at=NOW - timedelta(hours=1), occurrences=2, opened_at=NOW - timedelta(hours=3),
                           summary="60 人聚集，联系人 13812345678", records=["xinfang/p-7f3a", "hotline/p-19c2"],
                           explanation="people=60 ≥ 50 (橙)\ncount(xinfang, 7d)=4 ≥ 3",
                           ack_due_at=NOW + timedelta(hours=1, minutes=20),
                           resolve_due_at=NOW + timedelta(days=2))
            s.add(w)
            s.flush()
            assert w.id is not None
            out[name] = w.id
            s.add(AuditRow(warning_id=w.id, at=w.opened_at, actor="system:evaluator", action="opened"))
            s.add(AuditRow(warning_id=w.id, at=w.opened_at, actor="system:router", action="routed", reason="opened",
                           detail={"change": "opened", "to": {"tier": "street", "node": w.route_region}}))
            officer = "jgq-officer" if region.startswith("510104001") else "xst-officer"
            s.add(OutboxRow(idempotency_key=f"k-{name}", warning_id=w.id, step="opened", recipient=officer,
                            channel="wecom", status="sent"))
        first, *others = ACCOUNTS.items()
        row = add_account(session=s, username=first[0], responder_id=first[1], password=PASSWORD,
                          directory=people, actor="test", now=NOW)
        # Argon2 is slow on purpose: the other accounts share the first one's hash.
        for user, responder in others:
            s.add(UserAccountRow(username=user, responder_id=responder, password_hash=row.password_hash))
    return out
