"""A few days of the year store at steady state: one Evaluator fed days 0 .. TO−1 of the store that
``bench/year_bench.py`` loaded, the read and the evaluation of days FROM .. TO−1 timed (CPU clock). Before
FROM the windows and baselines fill (the catalog's reach back is 4 weeks and a day), so those days cost
what a day of the year costs. ``--root`` runs another checkout's code (e.g. ``git archive REV | tar -x -C
/tmp/base``, with the built ``_speedups`` copied in) on this interpreter: two at once, one per core, is a
same-time A/B. With ``--wait-for-profiler`` it prints its pid when the timed days begin and pauses two
seconds, so ``py-spy record --pid`` can attach to just those days. ``--out FILE`` writes the warnings as
JSON lines (``rules.run.backtest.warning_row``, sorted), to compare two checkouts' warnings byte for byte.

    uv run python bench/year_days.py --from 30 --to 35
    uv run python bench/year_days.py --root /tmp/base & uv run python bench/year_days.py    # an A/B
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path


def main() -> int:
    """Feed the days and print the timed days' CPU time a record."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="start", type=int, default=30)
    p.add_argument("--to", dest="end", type=int, default=35)
    p.add_argument("--db", type=Path, default=Path("/tmp/fenghuo-year-365d-7.db"))
    p.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="checkout whose code runs")
    p.add_argument("--wait-for-profiler", action="store_true")
    p.add_argument("--out", type=Path, default=None, help="write the warnings here as sorted JSON lines")
    args = p.parse_args()
    root = args.root.resolve()
    sys.path[:0] = [str(root), str(root / "bench")]
    from machine import machine_line
    from rules_stream import START
    from sqlmodel import Session

    from integrations.store.db import make_engine
    from integrations.store.shard_store import read_slice
    from rules.engine.evaluate import Evaluator
    from rules.engine.gc_pause import gc_paused
    from rules.language.loader import load_rulebook
    from rules.run.backtest import warning_row
    from rules.run.sharding import kinds_watched

    print(machine_line(), flush=True)
    book = load_rulebook()
    kinds = sorted(kinds_watched(book.rules) - {"warning"})
    ev = Evaluator(book)
    read = evaluate = 0.0
    n = 0
    with Session(make_engine(f"sqlite:///{args.db}")) as session, gc_paused():
        for day in range(args.end):
            if day == args.start and args.wait_for_profiler:
                print(f"timed days begin: pid {os.getpid()}", flush=True)
                time.sleep(2)
            t = START + timedelta(days=day)
            c0 = time.process_time()
            batch = read_slice(session, t, t + timedelta(days=1), None, kinds)
            c1 = time.process_time()
            ev.feed(batch)
            c2 = time.process_time()
            if day >= args.start:
                read, evaluate, n = read + c1 - c0, evaluate + c2 - c1, n + len(batch)
    print(f"{root}: days {args.start}–{args.end - 1}: {n:,} records; read {read / n * 1e6:.2f} µs a record, "
          f"evaluate {evaluate / n * 1e6:.2f} µs a record; {len(ev.warnings()):,} warnings", flush=True)
    if args.out is not None:
        rows = sorted(json.dumps(warning_row(w), ensure_ascii=False, sort_keys=True) for w in ev.warnings())
        args.out.write_text("".join(f"{r}\n" for r in rows), encoding="utf-8")
    os._exit(0)  # the evaluator's month of state needs no teardown: freeing it takes seconds


if __name__ == "__main__":
    raise SystemExit(main())
