"""Ingest benchmark: records/s from simulator pages into the store, against a bare executemany.

Run: ``uv run python bench/ingest_bench.py [--scale 4] [--page-size 1000]``

Measured in one run, on one SQLite file: (1) the whole ingest — HTTP pages from the simulator, mapping,
validation, pseudonymisation, upsert with cursor commits — per stage; (2) the same rows, as stored,
inserted by a bare ``executemany`` into a copy of the record table (same indexes and constraints).
Prints rates and their ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from domain.kinds import RecordKinds
from domain.records import Record
from domain.repo.records import set_cursor, upsert_records
from domain.store import open_store, session_scope
from integrations.ingest import build_sources, ingest_source
from integrations.settings import PACKAGE_ROOT, Settings
from integrations.sources import map_item


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=4.0)
    ap.add_argument("--page-size", type=int, default=1000)
    args = ap.parse_args()
    kinds = RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")
    tmp = Path(tempfile.mkdtemp())
    engine = open_store(f"sqlite:///{tmp}/bench.db")
    t_fetch = t_map = t_store = 0.0
    n = 0
    # The departments run in their own process, as they would: their data must not weigh on our GC.
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "integrations.simulator",
            "--port",
            "0",
            "--bad-rate",
            "0",
            "--seed",
            "1",
            "--scale",
            str(args.scale),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PACKAGE_ROOT,
    )
    try:
        assert sim.stdout is not None
        url = json.loads(sim.stdout.readline())["url"]
        sources = build_sources(Settings(simulator_url=url))
        t_all = time.perf_counter()
        for src in sources:
            cursor = None
            while True:
                t0 = time.perf_counter()
                page = src.fetch(cursor, limit=args.page_size)
                t1 = time.perf_counter()
                recs = [r for raw in page.items if isinstance(r := map_item(raw, src.config, kinds, "k"), Record)]
                t2 = time.perf_counter()
                with session_scope(engine) as s:
                    upsert_records(session=s, records=recs)
                    set_cursor(session=s, source=src.name, cursor=page.next_cursor)
                t3 = time.perf_counter()
                t_fetch, t_map, t_store = t_fetch + t1 - t0, t_map + t2 - t1, t_store + t3 - t2
                n += len(recs)
                cursor = page.next_cursor
                if not page.has_more:
                    break
            src.close()
        t_all = time.perf_counter() - t_all
        # The real thing: ingest_source (cursor per page, quarantine, next page prefetched), into a new store.
        engine2 = open_store(f"sqlite:///{tmp}/bench-ingest.db")
        sources = build_sources(Settings(simulator_url=url))
        t_ingest = time.perf_counter()
        n_ingest = 0
        for src in sources:
            n_ingest += ingest_source(engine2, src, kinds=kinds, key="k", page_size=args.page_size).inserted
            src.close()
        t_ingest = time.perf_counter() - t_ingest
        engine2.dispose()
    finally:
        sim.terminate()
        sim.wait()
    with engine.begin() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM record").fetchall()
        # The same table, indexes and constraints included: the baseline pays for the same index upkeep.
        ddl = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'record' AND sql IS NOT NULL"
        ).scalars()
        for stmt in list(ddl):
            for name in ("bench_bare", "bench_paged"):
                conn.exec_driver_sql(
                    stmt.replace("TABLE record", f"TABLE {name}")
                    .replace("ON record ", f"ON {name} ")
                    .replace("INDEX ix_record_", f"INDEX ix_{name}_")
                    .replace("uq_record_source_id", f"uq_{name}_source_id")
                )
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        marks = ",".join("?" * len(rows[0]))
        t0 = time.perf_counter()
        cur.executemany(f"INSERT INTO bench_bare VALUES ({marks})", rows)
        raw.commit()
        t_bare = time.perf_counter() - t0
        # The same, committed once per page as the ingest must (the cursor moves with each page).
        t0 = time.perf_counter()
        for i in range(0, len(rows), args.page_size):
            cur.executemany(f"INSERT INTO bench_paged VALUES ({marks})", rows[i : i + args.page_size])
            raw.commit()
        t_paged = time.perf_counter() - t0
    finally:
        raw.close()
    engine.dispose()
    rate, bare = n / t_all, len(rows) / t_bare
    print(f"records: {n} (scale {args.scale}, page size {args.page_size}), SQLite at {tmp}")
    rate_ingest = n_ingest / t_ingest
    print(f"ingest_source      : {rate_ingest:10,.0f} records/s  ({t_ingest:.2f} s, prefetching the next page)")
    print(f"stages in sequence : {rate:10,.0f} records/s  ({t_all:.2f} s)")
    print(f"  fetch (HTTP+JSON): {n / t_fetch:10,.0f} records/s  ({t_fetch:.2f} s)")
    print(f"  map+validate+pseud: {n / t_map:9,.0f} records/s  ({t_map:.2f} s)")
    print(f"  upsert+cursor    : {n / t_store:10,.0f} records/s  ({t_store:.2f} s)")
    paged = len(rows) / t_paged
    print(f"bare executemany   : {bare:10,.0f} records/s  ({t_bare:.2f} s, one transaction)")
    print(f"  … commit per page: {paged:10,.0f} records/s  ({t_paged:.2f} s)")
    print(
        f"ratio ingest_source / bare: {rate_ingest / bare:.3f}   stages / bare: {rate / bare:.3f}   "
        f"upsert / bare: {(n / t_store) / bare:.3f}   "
        f"upsert / bare per page: {(n / t_store) / paged:.3f}"
    )


if __name__ == "__main__":
    main()
