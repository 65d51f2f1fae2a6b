"""Latency benchmark of live evaluation (issue 17, Speed): a department's record to a responder's webhook.

Per backend: a store (fresh, or with ``--days`` of a megacity's history at 100,000 records a day, built
once and reused, its evaluator caught up), the push intake (``POST /v1/intake/xinfang``, the web endpoint
in a process of its own), ``fenghuo evaluate --follow`` with its delivery thread (a real process), and a
webhook receiver on loopback to which every responder's notifications also go. Petitions are pushed at a
steady ``--rate`` a day, with bursts of 1,000 records in one second; some are collective petitions (60
people) in a street of their own, so each opens a fresh orange warning. Halfway through, the evaluator is
killed with SIGKILL and restarted at once. Reported, in one run:

- p50/p95/p99 from the intake's 202 to the webhook's receipt, orange/red warnings (pushes made while the
  evaluator was down are reported apart, not in the percentiles);
- intake → stored alone (the floor): the push's own round trip, which commits the records before its 202;
- restart to caught up after kill -9 (position at the latest committed record), duplicates at the receiver;
- then, in this process, the evaluator's per-batch cost at steady state (batches of 100 records, committed
  with their warnings, outbox and position; timed after :data:`WARM_UP` batches), and checkpoint write and
  read time and size.

Only one source pushes here; live evaluation releases each rule group by its own sources' watermarks, so the
collective petitions wait for 信访 alone. On a reused store (``--days``) the warnings earlier runs opened in
the feed's districts are resolved first, and their undelivered notifications marked not needed.

    uv run python bench/latency_bench.py --quick                 # SQLite and PostgreSQL, under two minutes
    uv run python bench/latency_bench.py --tiny --db sqlite      # the test's size
    uv run python bench/latency_bench.py --days 30 --db sqlite   # against the 30-day store
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crash_bench import _drop, _follow, _max_seq, _position, _url, _wait_for  # noqa: E402
from latency_history import history  # noqa: E402
from machine import machine_line  # noqa: E402
from rules_stream import _communities  # noqa: E402

from tests.webhook_helpers import WebhookReceiver, webhook_directory  # noqa: E402

TOKEN = "latency-bench-push-token-0123456789abcdef"  # nosec B105 - a loopback bench's own token
WEB = """
import time
from flows.store import store_engine
from integrations.settings import get_settings
from integrations.web import start_web
web = start_web(store_engine(), get_settings())
print("ready", web.url, flush=True)
time.sleep(10 ** 6)
"""
SIZES = {"tiny": dict(seconds=2, bursts=2, burst=200, batches=5),
         "quick": dict(seconds=28, bursts=2, burst=1000, batches=20)}
"""Seconds of steady feed (half before the kill, half after the restart caught up), bursts, records a burst,
in-process batches of 100."""

MIN_AFTER = 4
"""Collective petitions pushed after the restarted evaluator caught up, at the least (the steady samples)."""

WARM_UP = 5
"""In-process batches run before the timed ones: the first passes of a new evaluator read the whole open set,
and psycopg prepares a statement at its fifth use (the first batches cost 2–5× on PostgreSQL)."""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentiles(xs: list[float]) -> str:
    if not xs:
        return "no samples"
    q = statistics.quantiles(xs, n=100, method="inclusive") if len(xs) > 1 else [xs[0]] * 99
    return f"p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms (n={len(xs)})"


class Feed:
    """Pushes petitions to the intake and notes when each was answered 202."""

    def __init__(self, base: str, rng: random.Random) -> None:
        self.client = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {TOKEN}"})
        self.rng, self.n, self.streets, self.oranges = rng, 0, 0, 0
        self.start = rng.randrange(50)
        # A reused store (--days) keeps an earlier run's warnings open: each run takes streets and people of
        # its own, or its collective petitions would fold into those warnings and notify nobody, and its
        # petitioners, seen again, would open thousands of repeat-petitioner warnings.
        self.salt = int(time.time()) % 399 * 2
        self.places = _communities(random.Random(7))  # the megacity stream's communities (bench/rules_bench.py)
        self.answered: dict[str, float] = {}  # record id -> time.time() of its push's 202
        self.floor: list[float] = []
        self.down: tuple[float, float] | None = None  # the evaluator's kill → caught up

    def _record(self, orange: bool) -> dict[str, Any]:
        self.n += 1
        if orange:
            # A street of its own (a fresh warning, not a fold into an open one), two to a district: a third
            # orange warning in a district within 7 days opens a district cluster, whose default inhibition
            # holds the district's later warnings (they would never reach the receiver).
            self.streets += 1
            district = 510150 + (self.start + self.streets // 2) % 50  # beyond the directory: routed to the city
            region, people = f"{district}{100 + self.salt + self.streets % 2:03d}001", 60
        else:
            # Under 5 people: no collective-petition (5 or more opens one in a street of its own).
            region, people = self.rng.choice(self.places), self.rng.choice([1, 1, 1, 2, 3])
        return {"kind": "petition", "id": f"lb{self.n}", "at": datetime.now(UTC).isoformat(), "region": region,
                "people": people, "subject": "征地补偿",
                "person": f"p_{self.salt:04d}{self.rng.randrange(10**6):016d}"}  # people of its own, too

    def push(self, count: int, orange: int) -> None:
        """One POST of ``count`` records, ``orange`` of them collective petitions."""
        self.oranges += orange
        flags = [True] * orange + [False] * (count - orange)
        self.rng.shuffle(flags)
        items = [self._record(f) for f in flags]
        while True:
            started = time.time()
            answer = self.client.post("/v1/intake/xinfang", params={"shape": "record"}, json=items)
            if answer.status_code != 429:
                break
            time.sleep(float(answer.headers.get("Retry-After", "0.1")))
        done = time.time()
        if answer.status_code != 202:
            raise RuntimeError(f"intake answered {answer.status_code}: {answer.text[:300]}")
        self.floor.append(done - started)
        for item in items:
            self.answered[item["id"]] = done

    def run(self, rate_per_day: float, burst: int, stop: threading.Event, bursts: threading.Semaphore) -> None:
        """Steady pushes (a quarter of them orange) until ``stop``; a burst of ``burst`` records in one second
        (one in a hundred orange) whenever ``bursts`` is released."""
        gap, deadline = 86_400 / rate_per_day, time.monotonic() + 900  # bounded whatever happens
        while not stop.is_set() and time.monotonic() < deadline:
            if bursts.acquire(blocking=False):
                for _ in range(10):
                    self.push(burst // 10, orange=max(1, burst // 1000))
                    time.sleep(0.1)
            self.push(1, orange=int(self.rng.random() < 0.25))
            time.sleep(gap)


def _setup(tmp: Path, url: str, receiver: WebhookReceiver) -> dict[str, str]:
    sources = yaml.safe_load((ROOT / "integrations" / "data" / "sources.yaml").read_text(encoding="utf-8"))
    for source in sources["sources"]:
        if source["name"] == "xinfang":
            source["push_token"] = "bench-push"
    (tmp / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "FENGHUO_HOME": str(tmp / "home"), "FENGHUO_DATABASE_URL": url,
           "FENGHUO_SOURCES_FILE": str(tmp / "sources.yaml"), "FENGHUO_SOURCE_SECRETS": f'{{"bench-push": "{TOKEN}"}}',
           "FENGHUO_RESPONDERS": str(webhook_directory(tmp / "responders.yaml", receiver.url)),
           "FENGHUO_REJECT_UNKNOWN_REGIONS": "false", "FENGHUO_INTAKE_MAX_IN_FLIGHT": "16",
           "FENGHUO_PUBLIC_BASE_URL": f"http://127.0.0.1:{_free_port()}", "FENGHUO_ENV": "development",
           "FENGHUO_LANG": "en"}  # the bench reads the evaluator's log lines: one language, whatever the operator's
    return env


def _tidy(engine: sa.Engine) -> int:
    """A reused store (``--days``) keeps what earlier runs opened in the feed's districts (510150–510199, used
    by this bench alone): resolved here as a responder would, or their district clusters would inhibit this
    run's collective petitions; and every notification still undelivered, addressed to an earlier run's
    receiver, marked not needed. The number of warnings resolved."""
    from sqlmodel import col, select

    from integrations.store.db import session_scope
    from integrations.store.models import OutboxRow, WarningRow
    from integrations.store.outbox_status import HELD, NOT_NEEDED, PENDING
    from integrations.store.resolution import close_warning

    now = datetime.now(UTC)
    with session_scope(engine) as session:
        rows = session.exec(select(WarningRow).where(col(WarningRow.status) != "resolved",
                                                     col(WarningRow.region) >= "510150",
                                                     col(WarningRow.region) < "510200")).all()
        for row in rows:
            close_warning(session, row, actor="latency bench", reason="an earlier run's warning", now=now)
        session.execute(sa.update(OutboxRow).where(col(OutboxRow.status).in_([PENDING, HELD]))
                        .values(status=NOT_NEEDED))
    return len(rows)


def _latencies(engine: sa.Engine, feed: Feed, receiver: WebhookReceiver) -> tuple[list[float], list[float]]:
    """(samples outside the evaluator's restart, samples pushed during it): each orange/red warning's first
    receipt less the 202 of the latest pushed record among its records."""
    first: dict[int, float] = {}
    for got in receiver.snapshot():
        wid = got.body.get("warning_id")
        if got.body.get("level") in ("orange", "red") and wid is not None:
            first[wid] = min(first.get(wid, got.at), got.at)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, records FROM warning")).all()
    steady, restart = [], []
    for wid, records in rows:
        ids = [r.rsplit("/", 1)[-1] for r in (records if isinstance(records, list) else json.loads(records))]
        pushed = [feed.answered[r] for r in ids if r in feed.answered]
        if wid in first and pushed:
            at = max(pushed)
            during = feed.down is not None and feed.down[0] - 1 <= at <= feed.down[1]
            (restart if during else steady).append(first[wid] - at)
    return steady, restart


def _settle(engine: sa.Engine, receiver: WebhookReceiver, timeout: float = 60) -> None:
    """Wait until the evaluator has consumed every record and the receiver has been quiet for 2 s."""
    deadline, last, quiet = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(receiver.snapshot())
        if n != last:
            last, quiet = n, time.monotonic()
        if _position(engine) >= _max_seq(engine) and time.monotonic() - quiet > 2:
            return
        time.sleep(0.2)


def _wait_for_the_clock(engine: sa.Engine) -> None:
    """A reused store may hold records ahead of the wall clock: an earlier run's in-process batches (below)
    run about 36 minutes of event time ahead of it. This run's pushes, stamped with the wall clock, would be
    late for the groups those batches moved (evaluated at once, never held: a latency that flatters), and
    its own batches would be late. So the run waits until the clock has passed them, saying so."""
    with engine.connect() as conn:
        latest = conn.execute(sa.text("SELECT max(at) FROM record")).scalar()
    if isinstance(latest, str):  # SQLite
        latest = datetime.fromisoformat(latest)
    if latest is None:
        return
    latest = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
    ahead = (latest - datetime.now(UTC)).total_seconds() + 5
    if ahead > 5:
        print(f"history: the store holds records {ahead:.0f} s ahead of the wall clock (an earlier run's in-process "
              f"batches); waiting for the clock to pass them, so that no pushed record is late", flush=True)
        time.sleep(ahead)


def megacity_batches(batches: int, size: int = 100, seed: int = 5) -> Iterator[list[Any]]:
    """``batches`` batches of ``size`` records of the megacity stream (bench/rules_bench.py: every kind, the
    city's regions, 100,000 a day), in event-time order from now on (none behind what the live run already
    evaluated, so none is late; the last ones ahead of the wall clock), ids of their own."""
    from rules_bench import stream

    records = [r for chunk in stream(batches * size, seed, 100_000) for r in chunk]
    shift = datetime.now(UTC) - records[0].at
    run = int(time.time())  # ids of this run's own: on a reused store the same ids would be changed records
    for i in range(batches):
        yield [r.model_copy(update={"at": r.at + shift, "id": f"mb{seed}_{run}_{r.id}"})
               for r in records[i * size:(i + 1) * size]]


def _in_process(url: str, env: dict[str, str], batches: int) -> dict[str, float]:
    """Per-batch cost (100 records) and checkpoint write/read, with the evaluator in this process."""
    from flows.live import live_parts
    from integrations.evaluation import LiveEvaluator, live_evaluator
    from integrations.settings import Settings
    from integrations.store.db import open_store, session_scope
    from integrations.store.records import upsert_records
    from integrations.store.watermarks import note_delivery

    settings = Settings(database_url=url, home=Path(env["FENGHUO_HOME"]), responders=Path(env["FENGHUO_RESPONDERS"]),
                        sources_file=Path(env["FENGHUO_SOURCES_FILE"]))
    engine, parts = open_store(url), live_parts(settings)

    def load() -> tuple[LiveEvaluator, float]:
        t0 = time.perf_counter()
        live = live_evaluator(engine, parts.rulebook, kinds=parts.kinds, routing=parts.routing, timings=parts.timings,
                              checkpoint_every=(1e9, 10**9), who="latency bench")
        return live, time.perf_counter() - t0

    live, _ = load()
    costs, folds, opens = [], [], []
    for i, batch in enumerate(megacity_batches(WARM_UP + batches)):
        at = batch[-1].at
        with session_scope(engine) as session:  # stored as a delivery is: the watermarks move
            upsert_records(session=session, records=batch)
            for source in ("xinfang", "sim"):
                note_delivery(session=session, source=source, ats=[at], now=at)
        t0 = time.perf_counter()
        report = live.run(datetime.now(UTC))
        if i >= WARM_UP:
            costs.append(time.perf_counter() - t0)
            folds.append(report.updated)
            opens.append(report.opened + report.raised)
            assert report.records == 100, report
        else:  # the first one's heartbeat also releases the feed's records its sources' lateness still held
            assert report.records >= 100, report
    written = live.checkpoint(datetime.now(UTC))
    live.close()
    again, read_s = load()
    again.close()
    engine.dispose()
    costs.sort()
    return {"batch_median_ms": statistics.median(costs) * 1000, "batch_max_ms": costs[-1] * 1000,
            "folds_median": statistics.median(folds), "opens_median": statistics.median(opens),
            "write_s": written.seconds if written else float("nan"),
            "size_mb": written.size_bytes / 1e6 if written else float("nan"), "read_s": read_s}


def run(db: str, size: dict[str, int], rate: float, days: int, store_dir: Path,
        keep_log: Path | None = None) -> dict[str, Any]:
    """One backend's run (see the module); prints its report and returns the figures."""
    from integrations.store.db import open_store

    with tempfile.TemporaryDirectory(prefix="latency-") as tmp_name:
        tmp = Path(tmp_name)
        if days:
            store_dir.mkdir(parents=True, exist_ok=True)
            url = (f"sqlite:///{store_dir}/latency-{days}d.db" if db == "sqlite" else
                   f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dlatency_{days}d")
            if db != "sqlite":
                with sa.create_engine(url.split("?")[0]).begin() as conn:
                    conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "latency_{days}d"'))
            history(url, days)
            tidy = open_store(url, migrate=False)
            print(f"history: {_tidy(tidy)} warnings of earlier runs resolved", flush=True)
            _wait_for_the_clock(tidy)
            if db != "sqlite":
                # What autovacuum would have done by now (the servers here run with it off): a reused store's
                # warning table otherwise carries every earlier run's dead rows and no statistics.
                with tidy.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                        "VACUUM ANALYZE warning, record, audit, outbox, task, evaluator_batch, source_watermark")
            tidy.dispose()
        else:
            url = _url("sqlite" if db == "sqlite" else "postgres", tmp, "latency")
        receiver = WebhookReceiver()
        env = _setup(tmp, url, receiver)
        engine = open_store(url)
        web = subprocess.Popen([sys.executable, "-c", WEB], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        log = keep_log.with_name(f"{keep_log.stem}-{db}{keep_log.suffix}") if keep_log else tmp / "follow.log"
        log.unlink(missing_ok=True)  # the bench counts lines in it
        follower = _follow(env, log)
        feed: Feed | None = None
        try:
            assert web.stdout is not None
            base = web.stdout.readline().split()[-1]
            # the feed starts once the evaluator is up (its checkpoint restored): the restart is measured apart
            _wait_for(log, "evaluating from the last checkpoint", 1, timeout=300)
            feed, stop = Feed(base, random.Random(11)), threading.Event()
            bursts = threading.Semaphore(0)
            pusher = threading.Thread(target=feed.run, args=(rate, size["burst"], stop, bursts))
            pusher.start()
            # Steady pushes and bursts before the kill, and the same after the restarted evaluator caught up.
            quarter = size["seconds"] / 4
            for _ in range(size["bursts"] // 2):
                time.sleep(quarter)
                bursts.release()
            time.sleep(quarter)
            killed = time.time()
            follower.send_signal(signal.SIGKILL)
            follower.wait(10)
            follower = _follow(env, log)  # restarted at once, as a supervisor would
            _wait_for(log, "evaluating from the last checkpoint", 2, timeout=300)
            restored = time.time() - killed  # a new interpreter, its imports, the rulebook, the checkpoint
            target = _max_seq(engine)  # caught up: past every record committed by the time it was up
            while _position(engine) < target:
                time.sleep(0.02)
            feed.down = (killed, time.time())
            after = feed.oranges
            for _ in range(size["bursts"] - size["bursts"] // 2):
                time.sleep(quarter)
                bursts.release()
            time.sleep(quarter)
            # A loaded machine pushes slowly: feed on until a few collective petitions went in after the
            # restart, or the steady latency has no samples at all (bounded).
            until = time.monotonic() + 60
            while feed.oranges - after < MIN_AFTER and time.monotonic() < until:
                time.sleep(0.05)
            stop.set()
            pusher.join()
            _settle(engine, receiver)
            steady, during = _latencies(engine, feed, receiver)
            keys = [r.key for r in receiver.snapshot()]
            with engine.connect() as conn:
                opened = conn.execute(sa.text("SELECT count(*) FROM warning WHERE level IN ('orange', 'red')"
                                              " AND rule <> 'source-stale'")).scalar_one()
                outbox = dict(conn.execute(sa.text("SELECT status, count(*) FROM outbox WHERE channel = 'webhook'"
                                                   " GROUP BY status")).all())
            print(f"  collective petitions pushed {feed.oranges}; orange/red warnings in the store {opened}; "
                  f"webhook outbox {outbox}", flush=True)
        finally:
            follower.send_signal(signal.SIGTERM)
            follower.wait(30)
            web.kill()
            web.wait(10)
            if web.stdout is not None:
                web.stdout.close()
            if feed is not None:
                feed.client.close()
            receiver.close()
        engine.dispose()
        cost = _in_process(url, env, size["batches"])
        if not days:
            _drop(url)
    assert feed is not None and feed.down is not None
    restart_s = feed.down[1] - feed.down[0]
    p95 = statistics.quantiles(steady, n=100, method="inclusive")[94] if len(steady) > 1 else float("nan")
    print(f"[{db}{f', {days}-day store' if days else ''}] {feed.n} records pushed in {len(feed.floor)} pushes; "
          f"{len(steady) + len(during)} orange/red warnings; {machine_line()}")
    print(f"  intake→delivered (orange/red): {_percentiles(steady)}; pushed while the evaluator restarted: "
          f"{_percentiles(during)}")
    print(f"  intake→stored (the push's round trip): {_percentiles(feed.floor)}")
    print(f"  restart to caught up after kill -9: {restart_s:.2f} s (the new process up, its checkpoint "
          f"restored and journal replayed: {restored:.2f} s); duplicates at the receiver: "
          f"{len(keys) - len(set(keys))} of {len(keys)} posts")
    print(f"  per batch of 100 records at steady state: median {cost['batch_median_ms']:.1f} ms, "
          f"max {cost['batch_max_ms']:.1f} ms over {size['batches']} batches (a batch's median: "
          f"{cost['folds_median']:.0f} firings folded into open warnings, {cost['opens_median']:.0f} opened or "
          f"raised); checkpoint: write "
          f"{cost['write_s']:.3f} s, read {cost['read_s']:.3f} s, {cost['size_mb']:.2f} MB")
    return {"p95_ms": p95 * 1000, "restart_s": restart_s, "restored_s": restored,
            "duplicates": len(keys) - len(set(keys)), "samples": len(steady), **cost}


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run each backend, close with the line ``p95 intake→delivered: N ms``."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a small run, under two minutes (the default size)")
    ap.add_argument("--tiny", action="store_true", help="the smallest run (the test's): seconds")
    ap.add_argument("--days", type=int, default=0, help="days of history (100,000 a day) in the store; 0: fresh")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--rate", type=float, default=100_000, help="steady records a day (default 100,000)")
    ap.add_argument("--log", type=Path, help="keep the resident evaluator's log here (one file per backend)")
    ap.add_argument("--seconds", type=float, help="how long the feed runs (default by size)")
    ap.add_argument("--store-dir", type=Path, default=Path(tempfile.gettempdir()) / "fenghuo-latency-store",
                    help="where the --days store is built once and reused (SQLite)")
    args = ap.parse_args(argv)
    size = dict(SIZES["tiny" if args.tiny else "quick"])
    if args.seconds:
        size["seconds"] = int(args.seconds)
    results = [run(db, size, args.rate if not args.tiny else args.rate * 5, args.days, args.store_dir, args.log)
               for db in (["sqlite", "postgresql"] if args.db == "both" else [args.db])]
    print(f"p95 intake→delivered: {max(r['p95_ms'] for r in results):.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
