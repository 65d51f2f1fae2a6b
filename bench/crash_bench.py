"""Crash benchmark of live evaluation (issue 17, cheap durability): kill -9 under a steady feed.

For each backend: a steady feed of petitions goes into a fresh store while ``fenghuo evaluate --follow``
runs as a real process with small checkpoint intervals; it is killed with SIGKILL at ``--kills`` random
moments and restarted at once each time (each restart restores the last checkpoint and replays the
journal after it). When the feed is done and the last evaluator has caught up, the store's warnings
(fingerprint, level, occurrences) and outbox (per idempotency key, and per warning fingerprint, step,
recipient and channel) are compared with an uninterrupted run: the same records in a second fresh
store, evaluated by one ``fenghuo evaluate --once``. Prints, per backend, whether they are equal, how
many warnings and notifications, and any lost or doubled.

Also ``--state``: builds an evaluator state as large as ``--state-records`` records of the catalog make it
and times writing and reading it as a checkpoint (msgpack + zlib) against the old JSON document.

    uv run python bench/crash_bench.py --kills 20                    # SQLite and PostgreSQL
    uv run python bench/crash_bench.py --backend sqlite --kills 3 --records 600
    uv run python bench/crash_bench.py --state --state-records 300000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domain.records import Record  # noqa: E402
from integrations.store.db import open_store, session_scope  # noqa: E402
from integrations.store.records import upsert_records  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
REGIONS = ["510104001001", "510104001002", "510104002001", "510105001001"]


def feed_records(n: int, seed: int = 7) -> list[Record]:
    """``n`` petitions, event time rising a few minutes apart: windows fill, warnings open, rise, fold."""
    rng = random.Random(seed)
    return [Record(kind="petition", source="xinfang", id=f"p{i}", at=T0 + timedelta(minutes=7 * i),
                   region=rng.choice(REGIONS),
                   attributes={"people": rng.choice([1, 3, 6, 12, 40, 120]), "subject": "征地补偿",
                               "person": f"p_{rng.randrange(30):020d}"})
            for i in range(n)]


def _url(backend: str, tmp: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp}/{name}.db"
    schema = f"crash_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{PG_ADMIN}?options=-csearch_path%3D{schema}"


def _drop(url: str) -> None:
    if "search_path" in url:
        schema = url.rsplit("%3D", 1)[1]
        admin = sa.create_engine(PG_ADMIN)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _env(tmp: Path, url: str, every_records: int) -> dict[str, str]:
    env = {**os.environ, "FENGHUO_HOME": str(tmp / "home"), "FENGHUO_DATABASE_URL": url,
           "FENGHUO_CHECKPOINT_EVERY_RECORDS": str(every_records), "FENGHUO_CHECKPOINT_EVERY_S": "3",
           "FENGHUO_LANG": "en"}  # the bench reads the evaluator's log lines: one language, whatever the operator's
    env.pop("FENGHUO_ENV", None)
    return env


def _follow(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "flows.cli", "evaluate", "--follow"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def _position(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        q = "SELECT max(consumed_seq) FROM evaluator_state WHERE name IN ('main', 'grouped')"
        got = conn.execute(sa.text(q)).scalar()
    return int(got or 0)


def _max_seq(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT coalesce(max(seq), 0) FROM record")).scalar_one())


@dataclass
class Outcome:
    """What a run left in its store."""

    warnings: Counter[tuple[str, str, int]]
    notifications: Counter[tuple[str, str, str, str]]
    per_key: Counter[str]


def outcome(engine: sa.Engine) -> Outcome:
    """Warnings (fingerprint, level, occurrences) and notifications, the watch on sources left out (it
    depends on wall time, not on the records)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, fingerprint, level, occurrences, rule FROM warning")).all()
        outbox = conn.execute(sa.text("SELECT idempotency_key, warning_id, step, recipient, channel FROM outbox")).all()
    fp = {r.id: r.fingerprint for r in rows if r.rule != "source-stale"}
    return Outcome(Counter((r.fingerprint, r.level, r.occurrences) for r in rows if r.rule != "source-stale"),
                   Counter((fp[o.warning_id], o.step, o.recipient, o.channel) for o in outbox if o.warning_id in fp),
                   Counter(o.idempotency_key for o in outbox if o.warning_id in fp))


def _wait_for(log: Path, needle: str, times: int, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while log.read_text(encoding="utf-8", errors="replace").count(needle) < times:
        if time.monotonic() > end:
            raise RuntimeError(f"no {needle!r} in {log}")
        time.sleep(0.05)


def _run(backend: str, tmp: Path, name: str, recs: list[Record], *, kills: int, rng: random.Random, chunk: int,
         every_records: int, kill_at: Sequence[int] = ()) -> tuple[Outcome, dict[str, object], str]:
    """One live run: the paced feed, ``evaluate --follow`` killed ``kills`` times; its outcome. ``kill_at``:
    one record count per kill, each process killed as soon as the evaluated position reaches it (every kill
    under the feed) instead of at a random moment after it loaded."""
    url = _url(backend, tmp, name)
    try:
        engine = open_store(url)
        env = _env(tmp, url, every_records)
        done = threading.Event()

        def feed() -> None:
            # Paced: the next delivery once the last one is evaluated, so both runs evaluate the same batches
            # (which level a warning opens at depends on the batch: see bench/README.md).
            for start in range(0, len(recs), chunk):
                with session_scope(engine) as s:
                    upsert_records(session=s, records=recs[start:start + chunk])
                top = _max_seq(engine)
                while _position(engine) < top:
                    time.sleep(0.05)
            done.set()

        log = tmp / f"{name}.log"
        started = time.monotonic()
        proc = _follow(env, log)
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        for n in range(kills):
            # Each kill lands while that process runs: after it loaded, at a random moment (or at its point).
            _wait_for(log, "evaluating from the last checkpoint", n + 1)
            if kill_at:
                end = time.monotonic() + 120
                while _position(engine) < kill_at[n] and time.monotonic() < end:
                    time.sleep(0.01)
            else:
                time.sleep(rng.uniform(0.3, 4.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc = _follow(env, log)
        fed_during_kills = not done.is_set()  # the last kill landed under the feed
        if not done.wait(600):
            raise RuntimeError("the feed did not finish")
        seconds = time.monotonic() - started
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        text = log.read_text(encoding="utf-8", errors="replace")
        (Path(tempfile.gettempdir()) / f"crash_bench_{backend}_{name}.log").write_text(text, encoding="utf-8")
        facts: dict[str, object] = {
            "starts": text.count("evaluating from the last checkpoint"),
            "restarts_that_replayed": len(re.findall(r"replayed [1-9][0-9]* records", text)),
            "replayed_records": sum(int(x) for x in re.findall(r"replayed ([0-9]+) records", text)),
            "seconds": round(seconds, 1), "last_kill_under_feed": fed_during_kills}
        got = outcome(engine)
        engine.dispose()
        return got, facts, url
    finally:
        _drop(url)


def _inline_reference(backend: str, tmp: Path, recs: list[Record], chunk: int) -> Outcome:
    """The uninterrupted run in this process: the same deliveries, each evaluated as ``--follow`` does."""
    from flows.live import live_parts
    from integrations.evaluation import live_evaluator
    from integrations.settings import Settings

    url = _url(backend, tmp, "inline")
    try:
        engine = open_store(url)
        parts = live_parts(Settings(home=tmp / "inline-home", database_url=url))
        live = live_evaluator(engine, parts.rulebook, kinds=parts.kinds, routing=parts.routing, timings=parts.timings,
                              watch_sources=True)
        try:
            for start in range(0, len(recs), chunk):
                with session_scope(engine) as s:
                    upsert_records(session=s, records=recs[start:start + chunk])
                live.run(datetime.now(UTC))
        finally:
            live.close()
        got = outcome(engine)
        engine.dispose()
        return got
    finally:
        _drop(url)


def crash_run(backend: str, *, records: int, kills: int, seed: int, chunk: int = 20,
              every_records: int = 100, inline_reference: bool = False,
              kill_at: Sequence[int] = ()) -> dict[str, object]:
    """The crash run and the uninterrupted one on ``backend``; the comparison as a dict. ``kill_at``: kill
    at these evaluated record counts rather than at random moments (see :func:`_run`)."""
    assert not kill_at or (len(kill_at) == kills and max(kill_at) < records), kill_at
    rng = random.Random(seed)
    recs = feed_records(records, seed)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        got, facts, _ = _run(backend, tmp, "crash", recs, kills=kills, rng=rng, chunk=chunk,
                             every_records=every_records, kill_at=kill_at)
        if inline_reference:
            want, ref_facts = _inline_reference(backend, tmp, recs, chunk), {"seconds": None}
        else:
            want, ref_facts, _ = _run(backend, tmp, "reference", recs, kills=0, rng=rng, chunk=chunk,
                                      every_records=every_records)
    return {
        "backend": backend, "records": len(recs), "kills": kills, **facts,
        "reference_seconds": ref_facts["seconds"],
        "warnings": sum(want.warnings.values()), "notifications": sum(want.notifications.values()),
        "warnings_equal": got.warnings == want.warnings,
        "notifications_equal": got.notifications == want.notifications,
        "lost": sum((want.notifications - got.notifications).values()) + sum((want.warnings - got.warnings).values()),
        "doubled": sum((got.notifications - want.notifications).values())
        + sum((got.warnings - want.warnings).values()),
        "max_rows_per_key": max(got.per_key.values(), default=0),
        "differences": [["lost", *k] for k in (want.notifications - got.notifications)][:5]
        + [["extra", *k] for k in (got.notifications - want.notifications)][:5],
    }


def state_bench(n: int) -> None:
    """Checkpoint write/read time and size of the state ``n`` records build, against the old JSON."""
    from rules.engine.evaluate import Evaluator
    from rules.engine.state_codec import decode_state, encode_state
    from rules.language.loader import load_rulebook

    rulebook = load_rulebook()
    ev = Evaluator(rulebook)
    per_day = 100_000
    rng = random.Random(3)
    step = 86_400 / per_day
    kinds = ["petition", "hotline", "petition"]
    for start in range(0, n, 20_000):
        ev.feed([Record(kind=kinds[i % 3], source="s", id=f"r{i}", at=T0 + timedelta(seconds=i * step),
                        region=rng.choice(REGIONS),
                        attributes={"people": rng.randrange(1, 20), "subject": "征地补偿",
                                    "person": f"p_{rng.randrange(50_000):020d}"})
                 for i in range(start, min(n, start + 20_000))])
    snap = ev.snapshot()
    t = time.perf_counter()
    text = json.dumps(snap)
    t_json_w = time.perf_counter() - t
    t = time.perf_counter()
    json.loads(text)
    t_json_r = time.perf_counter() - t
    for compress in (False, True):
        t = time.perf_counter()
        data = encode_state(snap, compress=compress)
        t_w = time.perf_counter() - t
        t = time.perf_counter()
        decode_state(data)
        t_r = time.perf_counter() - t
        print(f"msgpack{'+zlib' if compress else ''}: {len(data)} bytes, encode {t_w:.3f} s, decode {t_r:.3f} s")
    print(f"JSON (old, per batch): {len(text.encode())} bytes, dumps {t_json_w:.3f} s, loads {t_json_r:.3f} s")
    t = time.perf_counter()
    Evaluator.restore(rulebook, decode_state(encode_state(snap)))
    print(f"state of {n} records ({n / per_day:.1f} days at {per_day}/day); "
          f"decode + Evaluator.restore: {time.perf_counter() - t:.3f} s")
    ev.close()


def main() -> None:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--records", type=int, default=2000)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--state", action="store_true", help="time checkpoints of a large state instead")
    p.add_argument("--state-records", type=int, default=300_000)
    args = p.parse_args()
    if args.state:
        state_bench(args.state_records)
        return
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        print(json.dumps(crash_run(backend, records=args.records, kills=args.kills, seed=args.seed),
                         ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
