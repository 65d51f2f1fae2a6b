"""Rules benchmark: a seeded synthetic megacity stream through the default rulebook.

Measures, in the same run, records/s for
  - floor:     bare durable_rules — the same compiled conditions and the same facts, in the engine's
               batches (4,096 records, one call per kind): facts serialised, asserted, actions drained,
               facts retracted. The facts are built outside the timing: this is the matching floor;
  - durable:   Evaluator(engine="durable"): records → warnings, event time, chaining, folding. Inside it,
               the matching stage alone is timed too: DurableMatcher.match (facts built from the records'
               fields, the same durable calls as the floor, matches mapped back to checks) plus
               DurableMatcher.levels (window levels tested on new aggregate values);
  - reference: Evaluator(engine="reference"): the same in plain Python (its matching stage: PythonMatcher),
and prints two ratios against the floor: the matching stage's (wrapper vs bare durable_rules on the same
work) and the full pipeline's (which adds the event-time work no bare durable_rules run does: windows,
sequences, absences, firings, explanations, folding, chaining). Also the resident memory as the stream
goes on and the event-time state held (records in windows, partial sequences, pending absences).
Times are wall-clock (``--clock wall``, the default) or this process's CPU time (``--clock cpu``: steadier
on a shared machine, where wall-clock includes waiting for a core). It never asserts them.

    uv run python bench/rules_bench.py --records 200000
    uv run python bench/rules_bench.py --records 5000000 --engines durable   # memory stays bounded
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.records import Record
from rules.engine import BATCH, DurableEngine
from rules.evaluate import Evaluator
from rules.loader import load_rulebook
from rules.matching import DurableMatcher

clock = time.perf_counter
"""The clock every figure is measured with (``--clock``)."""

CST = timezone(timedelta(hours=8))
START = datetime(2026, 1, 1, tzinfo=CST)
CHUNK = 20_000
CATEGORIES = [f"cat{i:02d}" for i in range(80)]
SUBJECTS = ["征地补偿", "拆迁安置", "欠薪", "物业纠纷", "医疗纠纷", "环境污染", "教育", "社保"]
KINDS = (["hotline"] * 60 + ["petition"] * 12 + ["dispute"] * 5 + ["opinion"] * 8 + ["incident"] * 5
         + ["care_visit_due"] * 5 + ["care_visit"] * 5)
CAT_WEIGHTS = [1 / (i + 1) ** 0.5 for i in range(len(CATEGORIES))]


def _communities(rng: random.Random) -> list[str]:
    return [f"5101{d:02d}{s:03d}{c:03d}" for d in range(4, 16) for s in range(1, 13) for c in range(1, 21)]


def _person(rng: random.Random) -> str:
    """Most people petition once in a long while; a few thousand come back often."""
    return f"f{rng.randrange(3_000)}" if rng.random() < 0.01 else f"p{rng.randrange(3_000_000)}"


def stream(n: int, seed: int = 7, per_day: int = 200_000) -> Iterator[list[Record]]:
    """``n`` records in chunks, in time order: about ``per_day`` records a day across the city."""
    rng = random.Random(seed)
    places = _communities(rng)
    step = 86400.0 / per_day
    t = 0.0
    made = 0
    while made < n:
        chunk: list[Record] = []
        for _ in range(min(CHUNK, n - made)):
            made += 1
            t += rng.expovariate(1.0 / step)
            kind = rng.choice(KINDS)
            a: dict[str, Any] = {}
            if kind == "hotline":
                a = {"person": f"h{rng.randrange(2_000_000)}", "status": "open",
                     "category": rng.choices(CATEGORIES, CAT_WEIGHTS)[0]}
            elif kind == "petition":
                people = 1 if rng.random() < 0.95 else rng.choice([1, 2, 3, 4] * 50 + [5, 8, 60, 350])
                a = {"person": _person(rng), "people": people, "subject": rng.choice(SUBJECTS),
                     "channel": rng.choice(["visit", "letter", "phone", "online"])}
            elif kind == "dispute":
                a = {"person": _person(rng), "type": rng.choice(["land", "neighbour"] * 5 + ["wage_arrears"]),
                     "amount": round(rng.lognormvariate(7, 1), 2),
                     "status": rng.choice(["open", "mediating", "resolved"])}
            elif kind == "opinion":
                a = {"topic": f"t{rng.randrange(300)}", "platform": "weibo", "volume": rng.randrange(1, 400),
                     "sentiment": round(rng.uniform(-1, 1), 2)}
            elif kind == "incident":
                a = {"category": "traffic", "injured": rng.choice([0] * 60 + [1, 2, 4]), "address": "某路",
                     "deaths": 0 if rng.random() < 0.998 else 1}
            else:
                a = {"person": f"c{rng.randrange(5_000)}", "program": "elderly"}
            chunk.append(Record(kind=kind, source="sim", id=str(made), at=START + timedelta(seconds=t),
                                region=rng.choice(places), attributes=a))
        yield chunk


def rss_mb() -> float:
    """Current resident memory in MB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_floor(rulebook: Any, n: int, seed: int, per_day: int) -> float:
    """Seconds spent by durable_rules alone on the compiled conditions."""
    engine = DurableEngine(rulebook)
    matcher = engine.matcher
    assert isinstance(matcher, DurableMatcher)
    spent = 0.0
    for chunk in stream(n, seed, per_day):
        batches: list[dict[str, list[dict[str, Any]]]] = []
        for start in range(0, len(chunk), BATCH):  # the engine's batches
            by_kind: dict[str, list[dict[str, Any]]] = {}
            for r in chunk[start : start + BATCH]:
                rs = matcher.kinds.get(r.kind)
                if rs is not None and rs.handle is not None:
                    rs.mid += 1
                    by_kind.setdefault(r.kind, []).append(rs.compiled.message(engine.fields(r), rs.mid))
            batches.append(by_kind)
        t0 = clock()
        for by_kind in batches:
            for kind, facts in by_kind.items():
                matcher.kinds[kind].run(facts)
        spent += clock() - t0
    engine.close()
    return spent


class _Timed:
    """Wraps a matcher's ``match`` and ``levels`` to add up the time spent in them (the matching stage)."""

    def __init__(self, matcher: Any) -> None:
        self.spent = 0.0
        for name in ("match", "levels"):
            inner = getattr(matcher, name)

            def timed(*args: Any, _inner: Any = inner) -> Any:
                t0 = clock()
                try:
                    return _inner(*args)
                finally:
                    self.spent += clock() - t0

            setattr(matcher, name, timed)


def run_engine(
    rulebook: Any, engine: str, n: int, seed: int, per_day: int, report_every: int, resolve_days: float
) -> tuple[float, float, int]:
    """Seconds spent in ``Evaluator.feed``, of them in the matching stage, and the number of warning
    changes. Responders are played by resolving, between batches, the warnings quiet for
    ``resolve_days`` of event time (0: never)."""
    ev = Evaluator(rulebook, engine)
    timer = _Timed(cast(Any, ev.engine).matcher)
    spent, changes, done, next_report = 0.0, 0, 0, report_every
    for chunk in stream(n, seed, per_day):
        t0 = clock()
        changes += len(ev.feed(chunk))
        spent += clock() - t0
        done += len(chunk)
        if resolve_days and done % (10 * CHUNK) == 0:
            quiet = chunk[-1].at - timedelta(days=resolve_days)
            for w in ev.warnings():
                if w.last_at < quiet:
                    ev.resolve(w.fingerprint)
        if done >= next_report:
            held = _held(ev)
            print(f"  {engine}: {done:>9,} records  {done / spent:>9,.0f} rec/s  RSS {rss_mb():7.1f} MB  "
                  f"state held {held:,}  open warnings {len(ev.warnings()):,}", flush=True)
            next_report += report_every
    ev.close()
    return spent, timer.spent, changes


def _held(ev: Evaluator) -> int:
    engine = ev.engine
    states = getattr(engine, "states", {})
    return sum(s.size() for s in states.values())


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print figures and ratios."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--per-day", type=int, default=200_000, help="records per day of event time")
    p.add_argument("--resolve-after-days", type=float, default=7.0,
                   help="play responders: resolve warnings quiet this long (0: never)")
    p.add_argument("--engines", default="floor,durable,reference")
    p.add_argument("--rules", type=Path, default=None, help="rulebook folder (default: the configured one)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall-clock, or this process's CPU time (steadier on a shared machine)")
    args = p.parse_args(argv)
    global clock
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    rulebook = load_rulebook([args.rules] if args.rules else None)
    if not rulebook.rules:
        print("the rulebook has no rules", file=sys.stderr)
        return 1
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    n = args.records
    print(f"rulebook {rulebook.version[:12]}: {len(rulebook.rules)} rules; {n:,} records, seed {args.seed}, "
          f"{args.per_day:,} records/day ({n / args.per_day:.1f} days of event time); {args.clock} clock")
    t0 = time.perf_counter()
    generated = sum(len(c) for c in stream(min(n, 100_000), args.seed))
    gen_rate = generated / (time.perf_counter() - t0)
    print(f"record generation (not timed below): {gen_rate:,.0f} rec/s")
    results: dict[str, float] = {}
    matching: dict[str, float] = {}
    for name in engines:
        if name == "floor":
            spent = run_floor(rulebook, n, args.seed, args.per_day)
            print(f"floor (bare durable_rules, same compiled facts, engine's batches): {n / spent:,.0f} rec/s "
                  f"({spent / n * 1e6:.2f} µs/record)")
        else:
            spent, matched, changes = run_engine(rulebook, name, n, args.seed, args.per_day,
                                                 max(n // 10, CHUNK), args.resolve_after_days)
            stage = "DurableMatcher" if name == "durable" else "PythonMatcher"
            print(f"{name} (full Evaluator): {n / spent:,.0f} rec/s ({spent / n * 1e6:.2f} µs/record), "
                  f"{changes:,} warning changes; of which matching stage ({stage}.match + .levels): "
                  f"{matched / n * 1e6:.2f} µs/record ({100 * matched / spent:.0f}%)")
            matching[name] = matched
        results[name] = spent
    if "floor" in results:
        floor = results["floor"]
        for name, spent in results.items():
            if name != "floor":
                print(f"ratio {name} matching stage / floor: {matching[name] / floor:.2f}x the cost   "
                      f"(wrapper vs bare durable_rules on the same conditions)")
                print(f"ratio {name} full pipeline  / floor: {spent / floor:.2f}x the cost   "
                      f"(adds windows, sequences, absences, firings, folding, chaining)")
    if "durable" in results and "reference" in results:
        print(f"ratio reference / durable (full pipeline): {results['reference'] / results['durable']:.2f}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
