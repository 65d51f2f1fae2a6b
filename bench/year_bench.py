"""Year benchmark: a simulated megacity year (about 100,000 records a day) backtested from the store,
sharded (docs/design.md#scale-path) versus not.

1. load: the seeded stream of bench/rules_bench.py (12 districts × 12 streets × 20 communities, realistic
   kinds) bulk-inserted into a fresh SQLite store (``--db``; reused when it already holds the run);
2. single: one process reads the store day by day and feeds one Evaluator (the default rulebook);
3. sharded: integrations.store.shard_store.sharded_store_backtest with ``--workers`` processes — one shard per
   district and a city shard per layer, each reading its own slice of the store.

Both modes run in fresh (spawned) processes so their peak memory (ru_maxrss) is theirs alone. It prints
records/s, peak memory and the ratios against the single run of the same invocation, and checks the two
warning lists are identical; it never asserts wall-clock.

    uv run python bench/year_bench.py --days 7
    uv run python bench/year_bench.py --days 365 --db /data/year.db     # the whole year
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import machine_line  # the same folder (sys.path above)
from rules_bench import stream
from rules_stream import START

PER_DAY = 100_000


def load(url: str, days: int, seed: int) -> tuple[int, float]:
    """Generate and insert ``days`` of records into a fresh store; (records, seconds)."""
    from integrations.store.db import open_store
    from integrations.store.prepared import prepare
    from integrations.store.record_insert import insert_sql  # bench-only bulk load into an empty store

    eng = open_store(url)
    n = days * PER_DAY
    t0 = time.perf_counter()
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    seq = 0
    with eng.begin() as conn:
        sql = insert_sql(conn.dialect)
        for chunk in stream(n, seed, PER_DAY):
            rows = []
            for r in chunk:
                seq += 1
                p = prepare(r)  # the canonical text and content hash the ingest stores
                at = r.at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
                rows.append((r.source, r.id, r.kind, at, r.region, p.attrs_json, p.content_hash, 1, False, seq, now))
            conn.exec_driver_sql(sql, rows)
    eng.dispose()
    return n, time.perf_counter() - t0


def _span(days: int) -> tuple[datetime, datetime]:
    # the generator's clock starts at START and runs ~days (exponential gaps): take a margin at the end
    return START, START + timedelta(days=days + 1)


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its finished children: unlike wall time, not
    inflated when other work shares the machine."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def single(url: str, days: int, out: Any) -> None:
    """Child: one Evaluator over the store, day by day."""
    from sqlmodel import Session

    from integrations.store.db import make_engine
    from integrations.store.shard_store import read_slice
    from rules.engine.evaluate import Evaluator
    from rules.engine.gc_pause import gc_paused
    from rules.language.loader import load_rulebook
    from rules.run.backtest import warning_row
    from rules.run.sharding import kinds_watched

    book = load_rulebook()
    kinds = sorted(kinds_watched(book.rules) - {"warning"})
    since, until = _span(days)
    t0, c0 = time.perf_counter(), _cpu()
    ev, n = Evaluator(book), 0
    # Collection paused for the whole run, as in every shard (rules.run.shard_run), so the two modes compare
    # evaluation, not garbage-collection policy.
    with Session(make_engine(url)) as session, gc_paused():
        t = since
        while t < until:
            batch = read_slice(session, t, t + timedelta(days=1), None, kinds)
            n += len(batch)
            ev.feed(batch)
            t += timedelta(days=1)
    rows = [warning_row(w) for w in ev.warnings()]
    out.put({"seconds": time.perf_counter() - t0, "cpu": _cpu() - c0, "records": n, "warnings": rows,
             "peak_self": _peak_mb(resource.RUSAGE_SELF), "peak_children": 0.0})


def sharded(url: str, days: int, workers: int, groups: int | None, out: Any) -> None:
    """Child: the sharded backtest over the store with ``workers`` processes and at most ``groups``
    district shards a layer."""
    from integrations.store.shard_store import sharded_store_backtest
    from rules.language.loader import load_rulebook
    from rules.run.sharded import process_runner

    book = load_rulebook()
    since, until = _span(days)
    t0, c0, w0 = time.perf_counter(), _cpu(), time.time()
    pool, shards, layers = process_runner(workers), [], []

    def runner(jobs: Any) -> Any:
        asked = time.time() - w0
        got = pool(jobs)
        shards.extend((r.name, r.records, r.cpu, r.span[0] - w0, r.span[1] - w0) for r in got)
        layers.append((asked, time.time() - w0))
        return got

    rows = sharded_store_backtest(book, url, since, until, runner=runner, groups=groups)
    out.put({"seconds": time.perf_counter() - t0, "cpu": _cpu() - c0, "warnings": rows, "shards": shards,
             "layers": layers, "peak_self": _peak_mb(resource.RUSAGE_SELF),
             "peak_children": _peak_mb(resource.RUSAGE_CHILDREN)})


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    got: dict[str, Any] = q.get()
    p.join()
    return got


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print figures and ratios."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    p.add_argument("--db", type=Path, default=None, help="SQLite file (default: /tmp/fenghuo-year-DAYS.db)")
    p.add_argument("--modes", default="single,sharded")
    p.add_argument("--groups", type=int, default=None,
                   help="district shards a layer (default 2 × workers − 1; 0: one per district)")
    args = p.parse_args(argv)
    db = args.db or Path(f"/tmp/fenghuo-year-{args.days}d-{args.seed}.db")
    url = f"sqlite:///{db}"
    n = args.days * PER_DAY
    # About two district shards per worker beside the city shard: few enough that each day's index range
    # is stepped through a few times, not once per district; enough for the pool to balance them.
    groups = 2 * args.workers - 1 if args.groups is None else (args.groups or None)
    print(f"{args.days} days × {PER_DAY:,} records/day = {n:,} records; store {db}; {args.workers} workers; "
          f"{groups or 'one per district'} district shards; {os.cpu_count()} CPUs")
    print(machine_line())
    if db.exists() and db.with_suffix(".done").exists():
        print("store: reusing the loaded store")
    else:
        for f in (db, db.with_suffix(".done")):
            f.unlink(missing_ok=True)
        count, secs = load(url, args.days, args.seed)
        db.with_suffix(".done").touch()
        print(f"load: {count:,} records generated and inserted in {secs:,.1f} s ({count / secs:,.0f} rec/s)")
    results: dict[str, dict[str, Any]] = {}
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        got = _in_child(single, url, args.days) if mode == "single" else _in_child(sharded, url, args.days,
                                                                                   args.workers, groups)
        results[mode] = got
        print(f"{mode:>8}: {got['seconds']:8.1f} s wall  {got['cpu']:8.1f} s CPU  {n / got['seconds']:>9,.0f} rec/s  "
              f"peak RSS: "
              f"{got['peak_self']:7.1f} MB (process)  {got['peak_children']:7.1f} MB (largest shard process)  "
              f"{len(got['warnings']):,} warnings", flush=True)
        if got.get("shards"):
            print("          shards (CPU s, records, wall from–to s after the start): " + ", ".join(
                f"{name} {cpu:,.1f} s {count:,} {a:,.1f}–{b:,.1f}" for name, count, cpu, a, b in got["shards"]),
                flush=True)
            print("          layers (asked, every result back, s after the start): " + ", ".join(
                f"{a:,.1f}–{b:,.1f}" for a, b in got["layers"]), flush=True)
        by_rule = Counter(w["rule"] for w in got["warnings"])
        print("          warnings by rule: " + ", ".join(f"{rule} {n:,}" for rule, n in by_rule.most_common()),
              flush=True)
    if "single" in results and "sharded" in results:
        a, b = results["single"], results["sharded"]

        def key(w: dict[str, Any]) -> tuple[str, str]:
            return (w["fingerprint"], w["first_at"])

        same = sorted(a["warnings"], key=key) == sorted(b["warnings"], key=key)
        print(f"identical warnings: {'yes' if same else 'NO'}")
        print(f"ratio sharded / single: {b['seconds'] / a['seconds']:.2f}x the wall time "
              f"({a['seconds'] / b['seconds']:.2f}x the throughput), {b['cpu'] / a['cpu']:.2f}x the CPU")
        print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work slows both modes)")
        mem = b["peak_self"] + args.workers * b["peak_children"]
        print(f"memory: single {a['peak_self']:.0f} MB; sharded at most {mem:.0f} MB "
              f"(coordinator + {args.workers} × largest shard process) = {mem / a['peak_self']:.2f}x")
        year = 365 * PER_DAY
        for name, r in (("single", a), ("sharded", b)):
            print(f"extrapolated year ({year:,} records, linear in records): {name} "
                  f"{r['seconds'] * year / n / 60:,.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
