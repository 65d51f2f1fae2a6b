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
from integrations.i18n import _


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
        span = (_("{since} 至 {until}").format(since=since.isoformat(), until=until.isoformat()) if until
                else _("{since} 起").format(since=since.isoformat()))
        fail(_("存储中没有 {span} 的记录，无可回测").format(span=span))
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
        err_console.print(_("第 {layer} 层：{n} 个分片（{names}）…").format(
            layer=layer, n=len(jobs), names=", ".join(j.name for j in jobs)), highlight=False)
        got = pool(jobs)
        err_console.print(_(
                "第 {layer} 层：用时 {seconds:.1f} 秒 — 读取 {records:,} 条记录，{warnings:,} 条预警").format(
            layer=layer, seconds=time.perf_counter() - t0, records=sum(r.records for r in got),
            warnings=sum(len(r.warnings) for r in got)), highlight=False)
        return got

    return run


def sharded_rows(book: Any, since: datetime, until: datetime | None, workers: int,
                 engine: str) -> tuple[list[dict[str, Any]], int]:
    """The backtest rows of the stored records in ``[since, until)``, sharded over ``workers``
    processes, and the number of records (as the unsharded backtest counts them)."""
    from integrations.settings import get_settings
    from integrations.store.shard_store import sharded_store_backtest

    if workers < 1:
        fail(_("--workers {n}：至少需要 1 个进程").format(n=workers))
    first, end, n = store_span(since, until)
    # About two district shards a process beside the city shard: each shard steps through every day's
    # rows to find its own, so fewer shards read less, and two a process still balance the pool.
    groups = 2 * workers - 1
    err_console.print(_("分片回测 {n:,} 条记录（{first} … {end}），{workers} 个进程").format(
        n=n, first=first.isoformat(), end=end.isoformat(), workers=workers), highlight=False)
    rows = sharded_store_backtest(book, get_settings().resolved_database_url, first, end,
                                  runner=_layered(workers), engine=engine, groups=groups)
    return rows, n
