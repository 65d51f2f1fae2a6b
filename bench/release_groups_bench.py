"""What evaluating per release group costs (rules/run/grouped.py) beside one evaluator, in this process.

The synthetic megacity stream (bench/rules_stream.py, 100,000 records a day) through the default
rulebook twice: one :class:`~rules.engine.evaluate.Evaluator` fed every record, and a
:class:`~rules.run.grouped.GroupedEvaluator` whose groups are fed their own kinds (the chained group
runs the rules it consumes in shadow, so most rules are evaluated twice). Batches of ``--batch``
records, as the live evaluator takes them; no release model (every record released at once), so the
figures are the evaluation cost alone. Reports seconds, records a second and the snapshot size
(msgpack + zlib) of each, and checks that both end with the same warnings. Never asserts the figures.

    uv run python bench/release_groups_bench.py --records 100000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import machine_line
from bench.rules_stream import stream
from integrations.sources.config import DEFAULT_SOURCES_FILE, load_sources
from rules.engine.evaluate import Evaluator
from rules.engine.state_codec import encode_state
from rules.language.loader import load_rulebook
from rules.run.grouped import GroupedEvaluator
from rules.run.release_groups import kind_sources, plan_release


def main() -> None:
    """Run the comparison and print one line per way."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    book = load_rulebook()
    plan = plan_release(book.rules, kind_sources((s.name, s.config.kind)
                                                 for s in load_sources(DEFAULT_SOURCES_FILE).specs))
    records = [r for chunk in stream(args.records, per_day=100_000) for r in chunk]
    batches = [records[i:i + args.batch] for i in range(0, len(records), args.batch)]
    print(machine_line())
    print(f"{len(records)} records, batches of {args.batch}, {len(plan.groups)} groups")

    single = Evaluator(book)
    start = time.perf_counter()
    for b in batches:
        single.feed(b)
    one_s = time.perf_counter() - start
    one_size = len(encode_state(single.snapshot()))

    grouped = GroupedEvaluator(book, plan)
    start = time.perf_counter()
    for b in batches:
        for g in grouped.groups.values():
            mine = [r for r in b if r.kind in g.kinds]
            if mine:
                g.feed(mine)
    per_group_s = time.perf_counter() - start
    sizes = {name: len(encode_state(g.evaluator.snapshot())) for name, g in grouped.groups.items()}

    same = ([(w.fingerprint, w.occurrences, w.level) for w in single.warnings()]
            == [(w.fingerprint, w.occurrences, w.level) for w in grouped.warnings()])
    print(f"one evaluator: {one_s:.2f} s ({len(records) / one_s:,.0f} records/s), snapshot {one_size:,} bytes")
    print(f"per group:     {per_group_s:.2f} s ({len(records) / per_group_s:,.0f} records/s), snapshots "
          f"{sum(sizes.values()):,} bytes ({', '.join(f'{n} {s:,}' for n, s in sizes.items())})")
    print(f"same warnings: {same} ({len(single.warnings())} open)")
    single.close()
    grouped.close()


if __name__ == "__main__":
    main()
