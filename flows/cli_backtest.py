"""``fenghuo backtest --since DATE --workers N``: the sharded backtest from the store, in local processes.

The same warnings and the same table or JSON lines as the unsharded ``fenghuo backtest --since``, from
:func:`integrations.store.shard_store.sharded_store_backtest` (docs/design.md#scale-path): one process per shard from a
pool of ``N``, each reading its own slice of the store, layer by layer. Never starts Prefect or Dask
(the ``backtest_sharded`` deployment does, for a cluster). Progress goes to stderr, one line a layer,
so ``--format jsonl`` output stays clean.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flows.console import err_console, fail


def store_span(since: datetime, until: datetime | None) -> tuple[datetime, datetime, int]:
    """The stored records with ``since <= at < until``: the first ``at``, just past the last, and how
    many; a one-line error when there are none."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from flows.console import open_engine
    from integrations.store.models import RecordRow

    at = RecordRow.__table__.c.at  # type: ignore[attr-defined]
    q = sa.select(sa.func.min(at), sa.func.max(at), sa.func.count()).where(at >= since)
    if until is not None:
        q = q.where(at < until)
    eng = open_engine()
    try:
        with Session(eng) as session:
            first, last, n = session.execute(q).one()
    finally:
        eng.dispose()
    if not n:
        upto = f" to {until.isoformat()}" if until else ""
        fail(f"存储中没有 {since.isoformat()}{upto} 的记录，无可回测 "
             f"(no stored records from {since.isoformat()}{upto}: nothing to backtest)")
    # The day-by-day reading starts at the first record and stops just past the last: the same records
    # as [since, until), without stepping through empty days (``until`` may be years away, or absent).
    return first, last + timedelta(microseconds=1), int(n)


def _layered(workers: int) -> Any:
    """A process-pool runner that prints a line to stderr when each layer starts and ends."""
    from rules.run.shard_run import ShardJob, ShardResult
    from rules.run.sharded import process_runner

    pool = process_runner(workers)
    layer = 0

    def run(jobs: Sequence[ShardJob]) -> list[ShardResult]:
        nonlocal layer
        layer += 1
        t0 = time.perf_counter()
        err_console.print(f"layer {layer}: {len(jobs)} shards ({', '.join(j.name for j in jobs)}) …",
                          highlight=False)
        got = pool(jobs)
        err_console.print(f"layer {layer}: done in {time.perf_counter() - t0:.1f} s — "
                          f"{sum(r.records for r in got):,} records read, "
                          f"{sum(len(r.warnings) for r in got):,} warnings", highlight=False)
        return got

    return run


def sharded_rows(book: Any, since: datetime, until: datetime | None, workers: int,
                 engine: str) -> tuple[list[dict[str, Any]], int]:
    """The backtest rows of the stored records in ``[since, until)``, sharded over ``workers``
    processes, and the number of records (as the unsharded backtest counts them)."""
    from integrations.settings import get_settings
    from integrations.store.shard_store import sharded_store_backtest

    if workers < 1:
        fail(f"--workers {workers}: 至少需要 1 个进程 (give at least 1 process)")
    first, end, n = store_span(since, until)
    # About two district shards a process beside the city shard: each shard steps through every day's
    # rows to find its own, so fewer shards read less, and two a process still balance the pool.
    groups = 2 * workers - 1
    err_console.print(f"sharded backtest of {n:,} records ({first.isoformat()} … {end.isoformat()}) "
                      f"on {workers} processes", highlight=False)
    rows = sharded_store_backtest(book, get_settings().resolved_database_url, first, end,
                                  runner=_layered(workers), engine=engine, groups=groups)
    return rows, n
