"""The store of ``bench/latency_bench.py --days N``: N days of a megacity's records (the seeded stream of
bench/rules_bench.py, 100,000 a day) ending now, its evaluator caught up — built once, then reused (as
bench/year_bench.py reuses its store)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from crash_bench import _max_seq, _position


def history(url: str, days: int, seed: int = 7) -> str:
    """``days`` of the megacity stream (bench/rules_bench.py, 100,000 a day) ending now, in the store at
    ``url`` with its evaluator caught up (no routing: history notifies nobody) — built once, then reused;
    an evaluation cut short resumes."""
    from flows.live import live_parts
    from integrations.evaluation import evaluate_pending
    from integrations.settings import Settings
    from integrations.store.db import open_store

    engine = open_store(url)
    if _max_seq(engine) >= days * 100_000:
        print(f"history: reusing {url} ({_max_seq(engine)} records, evaluated up to seq {_position(engine)})",
              flush=True)
    else:
        _store(engine, days, seed)
    # Resumable: an evaluation cut short goes on from its last committed batch (a no-op once caught up).
    t0, done, said = time.perf_counter(), [0], [0]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] - said[0] >= 300_000:
            said[0] = done[0]
            print(f"history: evaluated {done[0]} records, {done[0] / (time.perf_counter() - t0):.0f}/s", flush=True)

    parts = live_parts(Settings(database_url=url), routed=False)
    report = evaluate_pending(engine, parts.rulebook, now=datetime.now(UTC), who="latency bench history",
                              progress=progress, kinds=parts.kinds)
    print(f"history: evaluated {report.records} records in {time.perf_counter() - t0:.0f} s", flush=True)
    engine.dispose()
    return url


def _store(engine: Any, days: int, seed: int) -> None:
    """Bulk-insert ``days`` of the stream, shifted to end now, into the empty store."""
    from rules_bench import stream
    from rules_stream import START

    from integrations.store.prepared import prepare
    from integrations.store.record_insert import insert_sql

    t0, shift = time.perf_counter(), datetime.now(UTC) - START - timedelta(days=days)
    stamp = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    seq = 0
    with engine.begin() as conn:
        sql = insert_sql(conn.dialect)
        for chunk in stream(days * 100_000, seed, 100_000):
            rows = []
            for r in chunk:
                seq += 1
                p, at = prepare(r), (r.at + shift).astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
                rows.append((r.source, r.id, r.kind, at, r.region, p.attrs_json, p.content_hash, 1, False, seq, stamp))
            conn.exec_driver_sql(sql, rows)
    print(f"history: {seq} records stored in {time.perf_counter() - t0:.0f} s", flush=True)
