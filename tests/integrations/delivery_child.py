"""A child process for the crash tests (tests/integrations/test_delivery_faults.py); it dies by os._exit(9).

``python delivery_child.py write URL HOOK LEVEL N NOW``: apply N warning openings and route them (the
outbox rows commit with the warnings), then die before any delivery.
``python delivery_child.py send URL HOOK SECRET NOW [WINDOW_S]``: run a delivery sweep whose webhook
channel dies right after its first successful send, before the sweep can mark the row (or digest) sent.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta

from pydantic import SecretStr

from domain.escalation import EscalationPolicy
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from domain.warnings import Firing, Level, fold
from integrations.notify import Notification, WebhookChannel
from integrations.notify.pipeline import deliver_pending
from integrations.route import Routing, apply_and_route
from integrations.store.db import open_store, session_scope

REGIONS = RegionDirectory.from_mapping({"510100000000": "成都市", "510104000000": "锦江区",
                                        "510104001000": "春熙路街道"})


def directory(hook: str) -> ResponderDirectory:
    """Every tier of one branch answers on the webhook ``hook`` (one responder per node)."""
    nodes = {code: {"responders": [{"id": f"duty-{code[:9]}", "name": "值班室", "kind": "unit",
                                    "channels": [{"type": "webhook", "address": hook}]}]}
             for code in ("510100000000", "510104000000", "510104001000")}
    return ResponderDirectory.model_validate({"city": "510100000000", "nodes": nodes, "leadership": [
        {"id": "leader", "name": "值班领导", "channels": [{"type": "webhook", "address": hook}]}]})


def write(url: str, hook: str, level: str, count: int, now: datetime) -> None:
    """Open ``count`` warnings at ``level`` with their outbox rows, then die before delivering."""
    engine = open_store(url)
    changes = [fold(None, Firing(rule=f"crash-{i}", level=Level(level), at=now, group={"street": "510104001000"},
                                 region="510104001000", records=(f"r{i}",), explanation="people=60 ≥ 50",
                                 summary="集体访", title=f"崩溃测试 {i}")) for i in range(count)]
    routing = Routing(policy=EscalationPolicy(), directory=directory(hook), regions=REGIONS)
    with session_scope(engine) as session:
        apply_and_route(session, changes, routing, now)
    os._exit(9)  # killed between writing the warnings and sending their notifications


class DieAfterSend:
    """A webhook channel whose process is killed right after the receiver accepted the first message."""

    name = "webhook"

    def __init__(self, secret: str) -> None:
        self.inner = WebhookChannel(SecretStr(secret))

    def send(self, message: Notification) -> None:
        """Deliver, then die before the sweep can mark the row sent."""
        self.inner.send(message)
        os._exit(9)


def send(url: str, secret: str, now: datetime, window_s: float) -> None:
    """One delivery sweep that dies mid-way."""
    engine = open_store(url)
    window = timedelta(seconds=window_s) if window_s else None
    deliver_pending(engine, {"webhook": DieAfterSend(secret)}, now=now, digest_window=window)
    sys.exit("the sweep was meant to die after its first send")


if __name__ == "__main__":
    mode, db, hook_or_secret, *rest = sys.argv[1:]
    if mode == "write":
        write(db, hook_or_secret, rest[0], int(rest[1]), datetime.fromisoformat(rest[2]))
    else:
        send(db, hook_or_secret, datetime.fromisoformat(rest[0]), float(rest[1]) if len(rest) > 1 else 0.0)
