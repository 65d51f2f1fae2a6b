"""What a rule edit costs the live evaluator: rebuilding the new rulebook's state from the store.

A store holding ``--days`` of records at ``--per-day`` (the rules bench's megacity mix) is marked as
evaluated up to its last record by another rulebook version; starting the evaluator then rebuilds the
state by replaying each kind's lookback (``integrations/store/rebuild.py``). Reported in one run: the
rebuild's wall time and records, and, as the floor, the same evaluator fed the same records straight
from memory (no store). ``--url`` picks the store (default: a SQLite file in a temporary folder).

    uv run python bench/rule_edit_bench.py --days 10 --per-day 20000 [--url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.rules_bench import stream
from integrations.store.db import open_store, session_scope
from integrations.store.models import EvaluatorStateRow
from integrations.store.records import upsert_records
from rules.engine.evaluate import Evaluator
from rules.engine.lookback import kind_lookbacks
from rules.language.loader import load_rulebook


def main(argv: list[str] | None = None) -> int:
    """Build the store, rebuild once, feed once; print the figures."""
    from integrations.evaluation import LiveEvaluator

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=float, default=10)
    p.add_argument("--per-day", type=int, default=20_000)
    p.add_argument("--url", default="")
    args = p.parse_args(argv)
    rulebook = load_rulebook()
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='edit-bench-')}/fenghuo.db"
    engine = open_store(url)
    n = int(args.days * args.per_day)
    chunks = list(stream(n, per_day=args.per_day))
    start = time.perf_counter()
    for chunk in chunks:
        with session_scope(engine) as s:
            upsert_records(session=s, records=chunk)
    print(f"stored {n} records over {args.days:g} days in {time.perf_counter() - start:.1f} s")
    last = chunks[-1][-1].at
    with session_scope(engine) as s:
        top = s.execute(EvaluatorStateRow.__table__.select()).first()  # type: ignore[attr-defined]
        assert top is None, "the store must be fresh"
        s.add(EvaluatorStateRow(name="main", rulebook_version="an-older-version", consumed_seq=n, watermark=last))
    start = time.perf_counter()
    live = LiveEvaluator(engine, rulebook, checkpoint_every=(1e9, 10**9), who="rule_edit_bench")
    rebuild_s = time.perf_counter() - start
    live.close()
    assert live.rebuilt is not None
    looks = kind_lookbacks(rulebook.rules)
    floor_records = [r for c in chunks for r in c if r.at > last - looks.get(r.kind, timedelta(0))]
    evaluator = Evaluator(rulebook)
    start = time.perf_counter()
    for i in range(0, len(floor_records), 20_000):
        evaluator.feed(floor_records[i:i + 20_000])
    feed_s = time.perf_counter() - start
    evaluator.close()
    print(f"rebuild: {live.rebuilt.records} records replayed in {rebuild_s:.2f} s "
          f"({live.rebuilt.records / rebuild_s:,.0f}/s, checkpoint and audit included); "
          f"{live.rebuilt.historic} historic firings not written")
    print(f"floor: the same {len(floor_records)} records fed from memory in {feed_s:.2f} s; "
          f"rebuild/floor = {rebuild_s / feed_s:.2f}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
