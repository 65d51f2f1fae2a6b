"""Ingest benchmark: records/s from simulator pages into the store, against a bare executemany.

Run: ``uv run python bench/ingest_bench.py [--scale 4] [--page-size 1000] [--repeat 3] [--url postgresql+psycopg://…]``

Measured in one run, on one database (a SQLite file by default; with ``--url`` a PostgreSQL database, in
fresh schemas dropped afterwards): (1) the whole ingest — HTTP pages from the simulator, mapping,
validation, pseudonymisation, upsert with cursor commits — per stage, then as ``ingest_source`` runs it
(``--repeat`` times, each into a new store: the median and every run are printed);
(2) the reference mapping (``map_item``, a pydantic Record per item) on the same pages, for comparison;
(3) the same rows, as stored, inserted by a bare ``executemany`` into a copy of the record table (same
indexes and constraints), right after each end-to-end run, so that each ratio compares two runs seconds
apart (this machine's speed drifts within minutes). Prints rates and their ratios, run by run; wall
clock, plus the process's CPU time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from machine import machine_line  # bench/machine.py: a script's own folder is on sys.path

from domain.kinds import RecordKinds
from integrations.ingest import speedups
from integrations.ingest.fastmap import CompiledMapping
from integrations.ingest.run import build_sources, ingest_source
from integrations.settings import PACKAGE_ROOT, Settings
from integrations.sources import DEPARTMENTS, map_item
from integrations.store.db import open_store, session_scope
from integrations.store.records import set_cursor, upsert_prepared


@contextmanager
def _stores(url: str | None, n: int) -> Iterator[list[str]]:
    """``n`` empty store URLs: SQLite files in a temporary folder, or fresh PostgreSQL schemas (dropped after)."""
    if url is None or url.startswith("sqlite"):
        tmp = Path(tempfile.mkdtemp())
        yield [f"sqlite:///{tmp}/bench-{i}.db" for i in range(n)]
        return
    schemas = [f"bench_{uuid.uuid4().hex[:10]}" for _ in range(n)]
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        for schema in schemas:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    try:
        yield [f"{url}{sep}options=-csearch_path%3D{schema}" for schema in schemas]
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _copy_table(conn: sa.Connection, name: str) -> None:
    """An empty copy of the record table, indexes and constraints included (same index upkeep)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE record INCLUDING ALL)")
        return
    ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE tbl_name = 'record' AND sql IS NOT NULL")
    for stmt in list(ddl.scalars()):
        conn.exec_driver_sql(
            stmt.replace("TABLE record", f"TABLE {name}")
            .replace("ON record ", f"ON {name} ")
            .replace("INDEX ix_record_", f"INDEX ix_{name}_")
            .replace("uq_record_source_id", f"uq_{name}_source_id")
        )


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=4.0)
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--url", help="store URL (default: a SQLite file in a temporary folder)")
    ap.add_argument("--repeat", type=int, default=3, help="end-to-end ingest runs, each into a new store")
    args = ap.parse_args()
    with _stores(args.url, 1 + args.repeat) as (url1, *urls):
        _run(args, url1, urls)


def _run(args: argparse.Namespace, url1: str, urls: list[str]) -> None:
    kinds = RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")
    engine = open_store(url1)
    t_fetch = t_map = t_store = t_ref = 0.0
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
        sources = build_sources(Settings(simulator_url=url), [d.name for d in DEPARTMENTS])
        t_all = time.perf_counter()
        for src in sources:
            cursor = None
            mapping = CompiledMapping(src.config, kinds, "k")
            while True:
                t0 = time.perf_counter()
                page = src.fetch(cursor, limit=args.page_size)
                t1 = time.perf_counter()
                recs, _ = mapping.map_page(page.items, datetime.now(UTC))
                t2 = time.perf_counter()
                with session_scope(engine) as s:
                    upsert_prepared(session=s, records=recs, optimistic=True)
                    set_cursor(session=s, source=src.name, cursor=page.next_cursor)
                t3 = time.perf_counter()
                # The reference mapping of the same page, for comparison only (not part of the stages); its
                # own key, so it finds no pseudonym the compiled mapping has just cached.
                for item in page.items:
                    map_item(item, src.config, kinds, "reference")
                t_ref += time.perf_counter() - t3
                t_fetch, t_map, t_store = t_fetch + t1 - t0, t_map + t2 - t1, t_store + t3 - t2
                n += len(recs)
                cursor = page.next_cursor
                if not page.has_more:
                    break
            src.close()
        t_all = time.perf_counter() - t_all - t_ref
        # The bare insert's rows: the store's rows as the stages above wrote them.
        pg = engine.dialect.name == "postgresql"
        cols = [c["name"] for c in sa.inspect(engine).get_columns("record")]
        # PostgreSQL hands JSON back parsed: read it as text and cast it on the way in, as the ingest does.
        select = ", ".join(f"{c}::text" if pg and c == "attributes" else c for c in cols)
        mark = "%s" if pg else "?"
        marks = ",".join(f"CAST({mark} AS JSON)" if pg and c == "attributes" else mark for c in cols)
        with engine.begin() as conn:
            rows = conn.exec_driver_sql(f"SELECT {select} FROM record").fetchall()

        def bare_insert(table: str, per_page: bool = False, copy: bool = False) -> tuple[float, float]:
            """Wall and CPU seconds of an executemany (or PostgreSQL's COPY) of ``rows`` into a new copy of
            the record table."""
            with engine.begin() as conn:
                _copy_table(conn, table)
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                t0, c0 = time.perf_counter(), time.process_time()
                step = args.page_size if per_page else len(rows)
                for i in range(0, len(rows), step):
                    if copy:
                        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:  # type: ignore[attr-defined]
                            for row in rows[i : i + step]:
                                cp.write_row(row)
                    else:
                        cur.executemany(
                            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows[i : i + step]
                        )
                    raw.commit()
                return time.perf_counter() - t0, time.process_time() - c0
            finally:
                raw.close()

        # The real thing: ingest_source (cursor per page, quarantine, pages read ahead), into new stores,
        # several times (on a shared machine one run is one draw), each followed at once by a bare insert:
        # each ratio compares two runs minutes, not seconds, apart would not (this machine's speed drifts).
        runs: list[tuple[int, float, float]] = []
        bares: list[tuple[float, float]] = []
        for k, url2 in enumerate(urls):
            engine2 = open_store(url2)
            sources = build_sources(Settings(simulator_url=url), [d.name for d in DEPARTMENTS])
            t_ingest, cpu_ingest = time.perf_counter(), time.process_time()
            n_ingest = 0
            for src in sources:
                n_ingest += ingest_source(engine2, src, kinds=kinds, key="k", page_size=args.page_size).inserted
                src.close()
            runs.append((n_ingest, time.perf_counter() - t_ingest, time.process_time() - cpu_ingest))
            engine2.dispose()
            bares.append(bare_insert(f"bench_bare_{k}"))
        # The same, committed once per page as the ingest must (the cursor moves with each page).
        t_paged, cpu_paged = bare_insert("bench_paged", per_page=True)
        # PostgreSQL's bulk path, which the ingest uses there: the floor below the executemany.
        t_copy = bare_insert("bench_copy", copy=True)[0] if pg else None
    finally:
        sim.terminate()
        sim.wait()
        if sim.stdout is not None:
            sim.stdout.close()
    engine.dispose()
    bare_rates = [len(rows) / t for t, _ in bares]
    bare = statistics.median(bare_rates)
    cpu_bare = statistics.median(c for _, c in bares)
    rate = n / t_all
    short = [n_i for n_i, _, _ in runs if n_i != n] + ([len(rows)] if len(rows) != n else [])
    if short:  # a run that stored less than the whole feed would flatter every figure below
        sys.exit(f"ingest_bench: a run stored {short[0]} records, not the {n} of the feed: figures withheld")
    where = url1.split("?")[0] if not pg else "PostgreSQL " + url1.split("@")[-1].split("?")[0]
    print(machine_line())
    print(f"records: {n} (scale {args.scale}, page size {args.page_size}), {where}")
    print(f"C twins: {'built' if speedups.UNAVAILABLE is None else speedups.UNAVAILABLE}")
    rates = [n_i / t_i for n_i, t_i, _ in runs]
    rate_ingest = statistics.median(rates)
    cpu_rate = statistics.median(n_i / c_i for n_i, _, c_i in runs)
    print(
        f"ingest_source      : {rate_ingest:10,.0f} records/s  (median of {len(runs)}: "
        f"{', '.join(f'{r:,.0f}' for r in rates)}; reading ahead)"
    )
    print(f"stages in sequence : {rate:10,.0f} records/s  ({t_all:.2f} s)")
    print(f"  fetch (HTTP+JSON): {n / t_fetch:10,.0f} records/s  ({t_fetch:.2f} s)")
    print(f"  map+validate+pseud: {n / t_map:9,.0f} records/s  ({t_map:.2f} s, compiled mapping, hashes included)")
    print(f"  upsert+cursor    : {n / t_store:10,.0f} records/s  ({t_store:.2f} s)")
    print(f"reference map_item : {n / t_ref:10,.0f} records/s  ({t_ref:.2f} s, a pydantic Record per item)")
    paged = len(rows) / t_paged
    print(
        f"bare executemany   : {bare:10,.0f} records/s  (median of {len(bares)}, each right after an ingest "
        f"run: {', '.join(f'{r:,.0f}' for r in bare_rates)}; one transaction)"
    )
    print(f"  … commit per page: {paged:10,.0f} records/s  ({t_paged:.2f} s)")
    if t_copy is not None:
        print(f"bare COPY          : {len(rows) / t_copy:10,.0f} records/s  ({t_copy:.2f} s; one transaction; "
              f"ingest_source / bare COPY: {rate_ingest / (len(rows) / t_copy):.3f})")
    pairs = [(n_i / t_i) / b for (n_i, t_i, _), b in zip(runs, bare_rates, strict=True)]
    print(
        f"ratio ingest_source / bare, run by run: {', '.join(f'{r:.3f}' for r in pairs)} "
        f"(median {statistics.median(pairs):.3f})   stages / bare: {rate / bare:.3f}   "
        f"upsert / bare: {(n / t_store) / bare:.3f}   upsert / bare per page: {(n / t_store) / paged:.3f}"
    )
    # On a shared machine the wall clock also counts the time other processes had the cores; the CPU
    # clock of this process does not (the simulator, a separate process, is left out of both).
    print(
        f"CPU clock: ingest_source {cpu_rate:,.0f} records/s (median), bare {len(rows) / cpu_bare:,.0f}/s, "
        f"commit per page {len(rows) / cpu_paged:,.0f}/s; ratio ingest_source / bare: "
        f"{cpu_rate / (len(rows) / cpu_bare):.3f}"
    )


if __name__ == "__main__":
    main()
