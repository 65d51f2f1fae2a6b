"""What evaluating per release group costs (rules/run/grouped.py) beside one evaluator, in this process.

The synthetic megacity stream (bench/rules_stream.py, 100,000 records a day) through the default
rulebook three ways: one :class:`~rules.engine.evaluate.Evaluator` fed every record; a
:class:`~rules.run.grouped.GroupedEvaluator` whose chained group (the clusters) re-runs the rules it
consumes *in shadow* (most rules evaluated twice); and one whose chained group takes their warnings
through a chain buffer (:mod:`rules.run.chain_buffer`, the default). Batches of ``--batch`` records, as
the live evaluator takes them; no release model (every record released at once: each group is fed its
kinds of the batch, producers first, with the batch's last ``at`` as its clock), so the figures are the
evaluation cost alone. Reports wall seconds (and CPU seconds) with the ratio to one evaluator, the
snapshot size (msgpack + zlib) of each, and whether all three end with the same warnings. Never asserts
the figures. The ways run one after another in one process, ``--rounds`` times in turn, and the last
lines give each grouped way's median ratio over the rounds: on a shared machine a busy minute slows
whichever way runs then, so read the ratios within a round and the load average the machine line prints.

    uv run python bench/release_groups_bench.py --records 100000 [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import machine_line
from bench.rules_stream import stream
from domain.records import Record
from integrations.sources.config import DEFAULT_SOURCES_FILE, load_sources
from rules.engine.evaluate import Evaluator
from rules.engine.state_codec import encode_state
from rules.language.loader import load_rulebook
from rules.run.grouped import GroupedEvaluator
from rules.run.release_groups import ReleasePlan, kind_sources, plan_release


def _rows(warnings: list[Any]) -> list[tuple[Any, ...]]:
    return sorted((w.fingerprint, w.occurrences, w.level.value, w.first_at, w.last_at) for w in warnings)


def _grouped(book: Any, plan: ReleasePlan, batches: list[list[Record]], shadow: bool
             ) -> tuple[float, float, int, list[tuple[Any, ...]], str]:
    """Seconds (wall, CPU), snapshot bytes, final warnings and a note of the buffer, one grouped way."""
    grouped = GroupedEvaluator(book, plan, shadow=shadow)
    start, cpu = time.perf_counter(), time.process_time()
    for b in batches:
        clock = b[-1].at
        for g in grouped.groups.values():  # plan order: producers before the chained group
            g.feed([r for r in b if r.kind in g.kinds], clock)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    size = sum(len(encode_state(s)) for s in grouped.snapshots().values())
    buffers = [g.buffer for g in grouped.groups.values() if g.buffer is not None]
    note = ", ".join(f"buffer held {len(b)}, late {b.late}" for b in buffers) or "no buffer"
    rows = _rows(grouped.warnings())
    grouped.close()
    return wall, cpu, size, rows, note


def main() -> None:
    """Run the comparison and print one line per way."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=1, help="run the three ways this many times in turn")
    args = parser.parse_args()
    book = load_rulebook()
    plan = plan_release(book.rules, kind_sources((s.name, s.config.kind)
                                                 for s in load_sources(DEFAULT_SOURCES_FILE).specs))
    records = [r for chunk in stream(args.records, per_day=100_000) for r in chunk]
    batches = [records[i:i + args.batch] for i in range(0, len(records), args.batch)]
    print(machine_line())
    print(f"{len(records)} records, batches of {args.batch}, {len(plan.groups)} groups "
          f"({', '.join(g.name for g in plan.groups if g.chained)} chained)")
    ratios: dict[str, list[tuple[float, float]]] = {"shadow": [], "buffer": []}
    for n in range(1, args.rounds + 1):
        single = Evaluator(book)
        start, cpu = time.perf_counter(), time.process_time()
        for b in batches:
            single.feed(b)
        one_s, one_cpu = time.perf_counter() - start, time.process_time() - cpu
        one_size = len(encode_state(single.snapshot()))
        expected = _rows(single.warnings())
        single.close()
        print(f"round {n}: one evaluator: {one_s:.2f} s wall, {one_cpu:.2f} s CPU "
              f"({len(records) / one_s:,.0f} records/s), snapshot {one_size:,} bytes, {len(expected):,} warnings")
        for label, shadow in (("shadow", True), ("buffer", False)):
            wall, cpu, size, rows, note = _grouped(book, plan, batches, shadow)
            ratios[label].append((wall / one_s, cpu / one_cpu))
            print(f"round {n}: {label + ':':14} {wall:.2f} s wall, {cpu:.2f} s CPU ({wall / one_s:.2f}× one "
                  f"evaluator, CPU {cpu / one_cpu:.2f}×), snapshots {size:,} bytes, {len(rows):,} warnings, "
                  f"same as one evaluator: {rows == expected} ({note})")
        print(machine_line())
    for label, got in ratios.items():
        print(f"{label}: median {statistics.median(w for w, _ in got):.2f}× one evaluator's wall time, "
              f"{statistics.median(c for _, c in got):.2f}× its CPU over {len(got)} round(s)")

if __name__ == "__main__":
    main()
