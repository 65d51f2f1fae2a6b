"""Notification benchmark: the outbox through the signed webhook channel to a receiver on 127.0.0.1.

Measures, in one run, against the reference receiver (``integrations.notify.receiver``, verifying each
signature and dropping duplicates by key) running in a process of its own:
  1. throughput — N notifications (routed by ``apply_and_route`` into the outbox beforehand) delivered
     by ``deliver_pending`` sweeps through ``WebhookChannel``, against a baseline of bare ``httpx`` posts
     of the same bodies (signed beforehand, no store); prints both rates and their ratio;
  2. latency — orange and red warnings opened one by one (``apply_and_route``, committed)
     while a delivery loop runs ``deliver_pending`` in a thread, as the run loop would; prints p50, p95
     and max from each warning's commit to its acceptance at the receiver (target: p95 under 1 s).
It never asserts wall-clock.

    uv run python bench/notify_bench.py [--notifications 2000] [--warnings 200] [--database-url URL]
    uv run python bench/notify_bench.py --silences 1000 --clusters 100 [--notifications 2000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from pydantic import SecretStr
from sqlmodel import Session, col, select

from bench.machine import machine_line
from domain.escalation import EscalationPolicy
from domain.inhibition import Inhibition
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from domain.warnings import Firing, Level, fold
from integrations.notify import WebhookChannel
from integrations.notify.pipeline import deliver_pending, notification_of
from integrations.notify.webhook import body_of, sign
from integrations.route import Routing, apply_and_route
from integrations.settings import PACKAGE_ROOT, child_env
from integrations.store.db import open_store, session_scope
from integrations.store.models import OutboxRow, WarningRow

SECRET = "bench-secret"
POLICY = EscalationPolicy()
REGIONS = RegionDirectory.from_mapping({"510100000000": "成都市", "510104000000": "锦江区",
                                        "510104001000": "春熙路街道"})


def directory(hook: str) -> ResponderDirectory:
    """The district and the city each answer on one webhook."""
    nodes = {code: {"responders": [{"id": f"duty-{code[:6]}", "name": "值班室", "kind": "unit",
                                    "channels": [{"type": "webhook", "address": hook}]}]}
             for code in ("510100000000", "510104000000")}
    leaders = [{"id": "leader", "name": "值班领导", "channels": [{"type": "webhook", "address": hook}]}]
    return ResponderDirectory.model_validate({"city": "510100000000", "nodes": nodes, "leadership": leaders})


def firing(i: int, level: Level, at: datetime) -> Firing:
    """A firing of its own fingerprint (so each opens a warning), with a realistic explanation."""
    return Firing(rule=f"bench-{i}", level=level, at=at, group={"street": "510104001000"}, region="510104001000",
                  records=(f"r{i}",), title="集体访", summary="60 人集体访：征地补偿",
                  explanation=f"近 24 小时同一事项来访 {50 + i % 40} 人 ≥ 50；联系电话 13812345678")


def start_receiver() -> tuple[subprocess.Popen[str], str]:
    """The reference receiver in a process of its own; its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "integrations.notify.receiver", "--secret", SECRET],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=PACKAGE_ROOT,
                            env=child_env())
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def stop_receiver(proc: subprocess.Popen[str]) -> dict[str, float]:
    """Stop the receiver; each accepted key's arrival time (wall clock)."""
    import json

    out, _ = proc.communicate(timeout=30)  # closing its stdin stops it
    summary = json.loads(out.strip().splitlines()[-1])
    accepted: dict[str, float] = summary["accepted_at"]
    return accepted


def throughput(engine, hook: str, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(outbox notifications/s, bare httpx posts/s) for ``n`` orange notifications."""
    now = datetime.now(UTC)
    routing = Routing(policy=POLICY, directory=directory(hook), regions=REGIONS)
    for start in range(0, n, 500):
        changes = [fold(None, firing(i, Level.orange, now)) for i in range(start, min(n, start + 500))]
        with session_scope(engine) as session:
            apply_and_route(session, changes, routing, now)
    with Session(engine) as session:
        messages = [notification_of(r) for r in session.exec(select(OutboxRow))]
    stamp = str(int(time.time()))
    bare = []
    for m in messages:
        text = body_of(m)
        bare.append((text.encode("utf-8"), {
            "Content-Type": "application/json; charset=utf-8", "X-Fenghuo-Idempotency-Key": "bare:" + m.idempotency_key,
            "X-Fenghuo-Timestamp": stamp, "X-Fenghuo-Signature": sign(SECRET, stamp, text)}))
    with httpx.Client(timeout=10) as client:
        for body, headers in bare[:50]:  # warm-up: connection, receiver threads
            client.post(hook, content=body, headers={**headers, "X-Fenghuo-Idempotency-Key": "warm" + headers[
                "X-Fenghuo-Idempotency-Key"]})
        t0 = time.perf_counter()
        for body, headers in bare:
            client.post(hook, content=body, headers=headers).raise_for_status()
        t_bare = time.perf_counter() - t0
    channel = WebhookChannel(SecretStr(SECRET))
    t0 = time.perf_counter()
    sent = 0
    while True:
        report = deliver_pending(engine, {"webhook": channel}, now=datetime.now(UTC), limit=500)
        sent += report.sent
        if report.attempted == 0:
            break
    t_outbox = time.perf_counter() - t0
    channel.close()
    assert sent == len(messages), (sent, len(messages))
    return len(messages) / t_outbox, len(bare) / t_bare


def latency(engine, hook: str, count: int, gap_s: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Open ``count`` orange/red warnings ``gap_s`` apart with a delivery loop running; commit time per key."""
    stop = threading.Event()
    channel = WebhookChannel(SecretStr(SECRET))

    def run_loop() -> None:
        while not stop.is_set():
            report = deliver_pending(engine, {"webhook": channel}, now=datetime.now(UTC), limit=100,
                                     digest_window=POLICY.digest_window)
            if report.attempted == 0:
                time.sleep(0.005)  # idle: poll the outbox every 5 ms

    loop = threading.Thread(target=run_loop, name="deliver", daemon=True)
    loop.start()
    committed: dict[str, float] = {}
    routing = Routing(policy=POLICY, directory=directory(hook), regions=REGIONS)
    rng = random.Random(11)
    for i in range(count):
        now = datetime.now(UTC)
        level = Level.red if i % 2 else Level.orange
        fired = firing(100_000 + i, level, now)
        with session_scope(engine) as session:
            apply_and_route(session, [fold(None, fired)], routing, now)
        at = time.time()  # after the commit: the warning and its outbox rows exist from here on
        with Session(engine) as session:
            query = (select(OutboxRow.idempotency_key).join(WarningRow, col(WarningRow.id) == col(OutboxRow.warning_id))
                     .where(WarningRow.fingerprint == fired.fingerprint))
            keys = list(session.exec(query))
        committed.update(dict.fromkeys(keys, at))
        time.sleep(gap_s * rng.uniform(0.5, 1.5))
    deadline = time.time() + 60
    while time.time() < deadline:
        with Session(engine) as session:
            if not session.exec(select(OutboxRow.id).where(OutboxRow.status != "sent")).first():
                break
        time.sleep(0.05)
    stop.set()
    loop.join()
    channel.close()
    return committed


CLUSTER = "bench-cluster"
INHIBITING = POLICY.model_copy(update={"inhibitions": (
    Inhibition(source=CLUSTER, targets=("bench-*",), min_level=Level.yellow, max_level=Level.orange),)})
"""The policy with a cluster rule inhibiting every bench rule (as a default inhibition would)."""


def open_clusters(engine, count: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """``count`` open cluster warnings, each in a street of another district (so each is a candidate
    source for every routed warning, and none covers one)."""
    rows = []
    for i in range(count):
        region = f"510105{i + 1:03d}000"
        rows.append(WarningRow(fingerprint=f"cluster-{i}", open_key=f"cluster-{i}", rule=CLUSTER, title="街道预警聚集",
                               level="orange", region=region, first_at=now, last_at=now, opened_at=now,
                               summary="7 天内本街道 3 起黄色以上预警", explanation="count=3 ≥ 3"))
    with session_scope(engine) as session:
        session.add_all(rows)


def route_and_deliver(url: str, hook: str, n: int, silences: int, clusters: int = 0) -> float:
    """Seconds to route ``n`` orange warnings (batches of 500, as live evaluation does) and deliver them
    through the webhook, in a fresh store holding ``silences`` silences in force and ``clusters`` open
    cluster warnings under a policy where the cluster rule inhibits the warnings' rules. The silences are
    of the warnings' own rules (so each is matched) and the clusters inhibit their rules, but both are for
    another district (so none holds): the cost measured is the matching alone."""
    from datetime import timedelta

    from integrations.store.silences import SilenceRow

    engine = open_store(url)
    now = datetime.now(UTC)
    if silences:
        with session_scope(engine) as session:
            session.add_all([SilenceRow(rule=f"bench-{i % max(n, 1)}", region="510105000000", level="orange",
                                        starts_at=now - timedelta(hours=1), until=now + timedelta(hours=2),
                                        reason="bench", author="duty-510100") for i in range(silences)])
    if clusters:
        open_clusters(engine, clusters, now)
    policy = INHIBITING if clusters else POLICY
    routing = Routing(policy=policy, directory=directory(hook), regions=REGIONS)
    channel = WebhookChannel(SecretStr(SECRET))
    t0 = time.perf_counter()
    for start in range(0, n, 500):
        changes = [fold(None, firing(i, Level.orange, now)) for i in range(start, min(n, start + 500))]
        with session_scope(engine) as session:
            apply_and_route(session, changes, routing, now)
    sent = 0
    while True:
        report = deliver_pending(engine, {"webhook": channel}, now=datetime.now(UTC), limit=500)
        sent += report.sent
        if report.attempted == 0:
            break
    elapsed = time.perf_counter() - t0
    channel.close()
    engine.dispose()
    assert sent == n, (sent, n)
    return elapsed


def silence_overhead(hook: str, n: int, silences: int, rounds: int, clusters: int = 0) -> list[float]:
    """Per round, the ratio (with ``silences`` silences and ``clusters`` open inhibiting clusters) /
    (with none, and no inhibition in the policy) of :func:`route_and_deliver`, the two runs back to back
    in the same minute, alternating which goes first."""
    ratios = []
    for r in range(rounds):
        order = (False, True) if r % 2 == 0 else (True, False)
        times = {on: route_and_deliver(f"sqlite:///{tempfile.mkdtemp()}/s{int(on)}.db", hook, n,
                                       silences if on else 0, clusters if on else 0) for on in order}
        ratios.append(times[True] / times[False])
    return ratios


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print the figures."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--notifications", type=int, default=2000)
    p.add_argument("--warnings", type=int, default=200, help="warnings opened for the latency run")
    p.add_argument("--gap-ms", type=float, default=20.0, help="mean pause between two warnings")
    p.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    p.add_argument("--silences", type=int, default=0,
                   help="only measure the cost of matching this many silences in force (same-run ratio)")
    p.add_argument("--clusters", type=int, default=0,
                   help="with --silences (or alone): also this many open cluster warnings inhibiting the rules")
    p.add_argument("--rounds", type=int, default=4, help="rounds of the silence measurement")
    args = p.parse_args(argv)
    if args.silences or args.clusters:
        proc, hook = start_receiver()
        try:
            ratios = silence_overhead(hook, args.notifications, args.silences, args.rounds, args.clusters)
        finally:
            stop_receiver(proc)
        print(f"silences: {args.silences} in force, open inhibiting clusters: {args.clusters}; "
              f"{args.notifications} orange notifications routed and delivered; "
              f"time with / without, per round: {', '.join(f'{r:.3f}' for r in ratios)}; "
              f"median {statistics.median(ratios):.3f} (target < 1.10)")
        print(machine_line())
        return 0
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/notify_bench.db"
    proc, hook = start_receiver()
    try:
        engine = open_store(url)
        outbox_rate, bare_rate = throughput(engine, hook, args.notifications)
        engine.dispose()
        engine = open_store(url)
        committed = latency(engine, hook, args.warnings, args.gap_ms / 1000)
        engine.dispose()
    finally:
        accepted = stop_receiver(proc)
    delays = sorted(accepted[k] - t for k, t in committed.items() if k in accepted)
    print(f"store: {url.split(':')[0]}")
    print(f"throughput: outbox → webhook {outbox_rate:,.0f} notifications/s; bare httpx posts {bare_rate:,.0f}/s; "
          f"ratio {outbox_rate / bare_rate:.2f}")
    if not delays:
        print("latency: nothing delivered")
        return 1
    p95 = delays[min(len(delays) - 1, int(0.95 * len(delays)))]
    print(f"latency (commit → accepted at receiver), {len(delays)}/{len(committed)} notifications: "
          f"p50 {statistics.median(delays) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms "
          f"(target p95 < 1000 ms: {'met' if p95 < 1.0 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
