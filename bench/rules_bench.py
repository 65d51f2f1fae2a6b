"""Rules benchmark: a seeded synthetic megacity stream through the default rulebook.

Measures, in the same run, records/s for
  - floor:     bare durable_rules' C engine on the same compiled conditions: from each record's fields
               (the ones the engine hands its matcher), the facts built, asserted in the engine's batches
               (4,096 records, one call per kind), the actions drained, the facts retracted. Our wrapper,
               ``DurableMatcher.match``, does the same work and maps the matches back to our checks; it is
               timed on the same fields, chunk by chunk in turn with the floor. Their ratio is the cost
               of our wrapper over bare durable_rules;
  - floor-api: the same conditions and facts through durable_rules' own public API (``Host``, one Python
               action per rule, ``assert_fact``/``retract_fact``): what a program using durable_rules as
               documented pays, with no wrapper of ours;
  - durable:   Evaluator(engine="durable"): records → warnings, event time, chaining, folding. Inside it,
               the matching stage alone is timed too (DurableMatcher.match + .levels);
  - reference: Evaluator(engine="reference"): the same in plain Python (its matching stage: PythonMatcher),
  - baseline:  the rulebook's baseline rules (language 1.1) against the same rules without their
               ``baseline`` and the tests of ``expected``/``spread``/``ratio``/``zscore``: two durable
               Evaluators fed the same chunks in turn; the ratio is what baselines cost. Run it over a
               stream longer than the baselines reach back (4 weeks and a day for the catalog's), e.g.
               ``--engines baseline --records 600000 --per-day 20000`` (30 days of event time),
and prints the ratios: the wrapper's against the floor; the full pipeline's against both floors (it adds
the event-time work no bare durable_rules run does: windows, sequences, absences, firings, explanations,
folding, chaining — durable_rules' own timers are wall-clock). Also the resident memory as the stream
goes on and the event-time state held (records in windows, partial sequences, pending absences).
Times are wall-clock (``--clock wall``, the default) or this process's CPU time (``--clock cpu``: steadier
on a shared machine, where wall-clock includes waiting for a core). It never asserts them.

    uv run python bench/rules_bench.py --records 200000
    uv run python bench/rules_bench.py --records 5000000 --engines durable   # memory stays bounded
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import resource
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rules_stream  # bench/ is on sys.path: a script's own folder
from machine import machine_line  # bench/machine.py: a script's own folder is on sys.path
from rules_stream import CHUNK

from domain.records import Record
from rules.engine.engines import BATCH, DurableEngine
from rules.engine.evaluate import Evaluator
from rules.engine.gc_pause import gc_paused
from rules.engine.matching import DurableMatcher
from rules.language.loader import load_rulebook

clock = time.perf_counter
"""The clock every figure is measured with (``--clock``)."""
places_limit: int | None = None
"""``--places``: the stream's records over only this many communities (windows stay over their thresholds)."""

def stream(n: int, seed: int = 7, per_day: int = 200_000, places: int | None = None) -> Iterator[list[Record]]:
    """:func:`rules_stream.stream` over ``places`` communities, default ``--places``, else all."""
    return rules_stream.stream(n, seed, per_day, places or places_limit)


def rss_mb() -> float:
    """Current resident memory in MB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _light_items(engine: DurableEngine, chunk: list[Record]) -> list[tuple[str, dict[str, Any]]]:
    """The ``(kind, fields)`` the engine hands its matcher for ``chunk`` (built outside every timing)."""
    return [(r.kind, engine.light(r, r.at.timestamp())) for r in chunk]


def run_floor(rulebook: Any, n: int, seed: int, per_day: int) -> tuple[float, float, int]:
    """Seconds bare durable_rules' C engine takes to say which compiled conditions hold for each record,
    and seconds our wrapper (``DurableMatcher.match``) takes for the same, chunk by chunk in turn (so
    both see the same load on a shared machine).

    Both start from each record's fields and work in the engine's batches (4,096 records). The floor
    does the least any program must: build each fact (only the fields the conditions test, a unique
    ``id``), assert each kind's facts in one call, drain the actions, retract the facts. No ``Host``, no
    callbacks, no mapping back. The wrapper also maps the matches back to our checks per record.
    Returns both times and the matches (fact, durable rule) the floor found."""
    bare, wrapped = DurableEngine(rulebook), DurableEngine(rulebook)
    matcher = bare.matcher
    assert isinstance(matcher, DurableMatcher)
    kinds = matcher.kinds
    match = wrapped.matcher.match
    seen = [0.0, 0.0]
    parity, found = False, 0
    for chunk in stream(n, seed, per_day):
        items = _light_items(bare, chunk)
        batches = [items[start : start + BATCH] for start in range(0, len(items), BATCH)]
        # Each goes first on every other chunk: the second would find the fields warm in the caches.
        for who in ((0, 1) if (parity := not parity) else (1, 0)):
            # One collection outside the timing and none inside, as in the pipeline (Evaluator.feed pauses
            # the cyclic collector): a collection's walk of every live object then falls on neither by chance.
            gc.collect()
            with gc_paused():
                t0 = clock()
                if who == 0:
                    for batch in batches:
                        by_kind: dict[str, list[dict[str, Any]]] = {}
                        for kind, fields in batch:
                            rs = kinds.get(kind)
                            if rs is not None and rs.handle is not None:
                                rs.mid += 1
                                by_kind.setdefault(kind, []).append(rs.compiled.message(fields, rs.mid))
                        for kind, facts in by_kind.items():
                            for names in kinds[kind].run(facts).values():
                                found += len(names)
                else:
                    for batch in batches:
                        match(batch)
                seen[who] += clock() - t0
    floor, ours = seen
    bare.close()
    wrapped.close()
    return floor, ours, found


def _noting(noted: list[tuple[int, str]], name: str) -> Any:
    """A durable_rules action noting ``(fact id, rule name)``: one argument (durable_rules treats an action
    with a second argument as asynchronous and waits for its callback)."""

    def action(c: Any) -> None:
        noted.append((c.m.id, name))

    return action


def run_floor_api(rulebook: Any, n: int, seed: int, per_day: int) -> tuple[float, int]:
    """Seconds durable_rules takes through its own public API, as its documentation teaches: the same
    compiled rulesets registered on a ``durable.engine.Host``, each rule's action a Python callback that
    notes the fact it matched, the same facts asserted then retracted one by one (``assert_fact``: ``post``
    would let the first matching rule consume an event; ``assert_facts`` refuses a batch in which any
    fact matches nothing).
    Returns the seconds and the matches noted."""
    import copy

    from durable.engine import Host, MessageNotHandledException

    engine = DurableEngine(rulebook)
    matcher = engine.matcher
    assert isinstance(matcher, DurableMatcher)
    noted: list[tuple[int, str]] = []
    definitions: dict[str, Any] = {}
    names: dict[str, str] = {}
    for kind, rs in matcher.kinds.items():
        if rs.handle is None:
            continue
        definition = copy.deepcopy(rs.compiled.definition)
        for rule_name, rule in definition.items():
            rule["run"] = _noting(noted, rule_name)
        names[kind] = name = f"floor-api-{kind}"
        definitions[name] = definition
    class _OneThreadHost(Host):  # type: ignore[misc]
        # A Host also dispatches from wall-clock timer threads that re-arm themselves every 0.2 s for as
        # long as the process lives; none are started, so everything runs in this thread, as in the
        # engine (the work per fact is the same), and nothing keeps burning CPU after the run.
        def _run(self) -> None:
            pass

    host = _OneThreadHost(definitions)
    spent = 0.0
    mid = 0
    for chunk in stream(n, seed, per_day):
        items = _light_items(engine, chunk)
        t0 = clock()
        for start in range(0, len(items), BATCH):
            by_kind: dict[str, list[dict[str, Any]]] = {}
            for kind, fields in items[start : start + BATCH]:
                name = names.get(kind)
                if name is not None:
                    mid += 1
                    by_kind.setdefault(name, []).append(matcher.kinds[kind].compiled.message(fields, mid))
            for name, facts in by_kind.items():
                # One call per fact: a batch with any fact no rule matches raises MessageNotHandledException
                # and leaves the others' actions to the timer threads.
                for fact in facts:
                    with contextlib.suppress(MessageNotHandledException):  # no rule matched this fact
                        host.assert_fact(name, fact)
                for fact in facts:
                    with contextlib.suppress(MessageNotHandledException):
                        host.retract_fact(name, fact)
        spent += clock() - t0
    engine.close()
    return spent, len(noted)


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
    last_done, last_spent = 0, 0.0  # at the previous report: the rate since then is the current one
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
            # The average since the start flatters a long run (its first records meet empty windows);
            # the rate over the last interval is what the engine does now, with the state it holds.
            now_rate = (done - last_done) / (spent - last_spent)
            print(f"  {engine}: {done:>9,} records  {done / spent:>9,.0f} rec/s on average, {now_rate:>9,.0f} "
                  f"over the last {done - last_done:,}  RSS {rss_mb():7.1f} MB  state held {held:,}  "
                  f"open warnings {len(ev.warnings()):,}", flush=True)
            last_done, last_spent = done, spent
            next_report += report_every
    ev.close()
    return spent, timer.spent, changes


def _held(ev: Evaluator) -> int:
    engine = ev.engine
    states = getattr(engine, "states", {})
    history = getattr(engine, "baselines", {})
    return sum(s.size() for s in states.values()) + sum(b.size() for b in history.values())


def without_baselines(rulebook: Any) -> Any:
    """The same rulebook with every ``baseline`` taken off its rule, and the tests of the baseline's names
    taken out of the levels (top-level terms; a level left with none always holds)."""
    from dataclasses import replace

    from rules.language.model import BASELINE_NAMES, Condition, FieldTest

    rules = []
    for rule in rulebook.rules:
        if rule.baseline is None:
            rules.append(rule)
            continue
        levels = []
        for spec in rule.levels:
            when = spec.when
            if when is not None:
                terms = tuple(t for t in when.terms if not (isinstance(t, FieldTest) and t.field in BASELINE_NAMES))
                when = Condition(terms=terms, file=when.file, line=when.line) if terms else None
            levels.append(spec.model_copy(update={"when": when}))
        rules.append(rule.model_copy(update={"baseline": None, "levels": tuple(levels)}))
    return replace(rulebook, rules=tuple(rules), version=rulebook.version + "-no-baselines")


def run_baseline_pair(rulebook: Any, n: int, seed: int, per_day: int) -> tuple[float, float, int, int, int]:
    """Seconds in ``Evaluator.feed`` for the rulebook without its baselines and with them (durable engine,
    the same chunks in turn, each going first every other chunk), their warning changes, and the records
    the baselines' history holds at the end."""
    plain, based = Evaluator(without_baselines(rulebook)), Evaluator(rulebook)
    seen, changes = [0.0, 0.0], [0, 0]
    parity = False
    for chunk in stream(n, seed, per_day):
        for who in ((0, 1) if (parity := not parity) else (1, 0)):
            ev = (plain, based)[who]
            gc.collect()
            t0 = clock()
            changes[who] += len(ev.feed(chunk))
            seen[who] += clock() - t0
    history = sum(b.size() for b in getattr(based.engine, "baselines", {}).values())
    plain.close()
    based.close()
    return seen[0], seen[1], changes[0], changes[1], history


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print figures and ratios."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--per-day", type=int, default=200_000, help="records per day of event time")
    p.add_argument("--resolve-after-days", type=float, default=7.0,
                   help="play responders: resolve warnings quiet this long (0: never)")
    p.add_argument("--engines", default="floor,floor-api,durable,reference",
                   help="also: baseline; cli (fenghuo backtest --records end to end, marginal rate)")
    p.add_argument("--places", type=int, default=None,
                   help="only this many communities (of 2,880): a firing-heavy stream, e.g. --places 40")
    p.add_argument("--rules", type=Path, default=None, help="rulebook folder (default: the configured one)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall-clock, or this process's CPU time (steadier on a shared machine)")
    args = p.parse_args(argv)
    global clock, places_limit
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    places_limit = args.places
    rulebook = load_rulebook([args.rules] if args.rules else None)
    if not rulebook.rules:
        print("the rulebook has no rules", file=sys.stderr)
        return 1
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    n = args.records
    print(machine_line())
    print(f"rulebook {rulebook.version[:12]}: {len(rulebook.rules)} rules; {n:,} records, seed {args.seed}, "
          f"{args.per_day:,} records/day ({n / args.per_day:.1f} days of event time); {args.clock} clock"
          + (f"; {args.places} communities only" if args.places else ""))
    t0 = time.perf_counter()
    generated = sum(len(c) for c in stream(min(n, 100_000), args.seed))
    gen_rate = generated / (time.perf_counter() - t0)
    print(f"record generation (not timed below): {gen_rate:,.0f} rec/s")
    results: dict[str, float] = {}
    matching: dict[str, float] = {}
    for name in engines:
        if name == "floor":
            spent, wrapper, found = run_floor(rulebook, n, args.seed, args.per_day)
            print(f"floor (bare durable_rules C engine: facts built from the same fields, asserted, drained, "
                  f"retracted): {n / spent:,.0f} rec/s ({spent / n * 1e6:.2f} µs/record), {found:,} matches")
            print(f"  DurableMatcher.match on the same fields, batch for batch: {n / wrapper:,.0f} rec/s "
                  f"({wrapper / n * 1e6:.2f} µs/record)")
            results["matcher"] = wrapper
        elif name == "baseline":
            if not any(r.baseline is not None for r in rulebook.rules):
                print("baseline: the rulebook has no baseline rule", file=sys.stderr)
                return 1
            plain, based, c_plain, c_based, history = run_baseline_pair(rulebook, n, args.seed, args.per_day)
            print(f"without baselines (durable, full Evaluator): {n / plain:,.0f} rec/s "
                  f"({plain / n * 1e6:.2f} µs/record), {c_plain:,} warning changes")
            print(f"with baselines    (durable, full Evaluator): {n / based:,.0f} rec/s "
                  f"({based / n * 1e6:.2f} µs/record), {c_based:,} warning changes; history held {history:,}")
            print(f"ratio with / without baselines: {based / plain:5.2f}x the cost   (target ≤ 1.5x)")
            continue
        elif name == "cli":
            from rules_bench_cli import cli_marginal

            rate, wall_rate, lines = cli_marginal(args.rules, n, args.seed, args.per_day, args.places)
            print(f"cli (fenghuo backtest --records, end to end, marginal {n // 10:,} → {n:,} records): "
                  f"{rate:,.0f} rec/s CPU, {wall_rate:,.0f} rec/s wall; {lines:,} output lines")
            continue
        elif name == "floor-api":
            spent, noted = run_floor_api(rulebook, n, args.seed, args.per_day)
            print(f"floor-api (durable_rules' own API: Host, callbacks, assert_fact/retract_fact): "
                  f"{n / spent:,.0f} rec/s ({spent / n * 1e6:.2f} µs/record), {noted:,} matches")
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
        print(f"ratio DurableMatcher / floor:          {results['matcher'] / results['floor']:5.2f}x the cost   "
              f"(our wrapper vs bare durable_rules: same conditions, same fields, same batches)")
    for name in ("durable", "reference"):
        if name not in results:
            continue
        if "floor" in results:
            floor = results["floor"]
            print(f"ratio {name} matching stage / floor:     {matching[name] / floor:5.2f}x the cost   "
                  f"(inside the pipeline, between event-time work: colder caches)")
            print(f"ratio {name} full pipeline  / floor:     {results[name] / floor:5.2f}x the cost   "
                  f"(adds windows, sequences, absences, firings, folding, chaining)")
        if "floor-api" in results:
            print(f"ratio {name} full pipeline  / floor-api: {results[name] / results['floor-api']:5.2f}x the cost   "
                  f"(the whole engine vs the same conditions through durable_rules' own API)")
    if "durable" in results and "reference" in results:
        print(f"ratio reference / durable (full pipeline): {results['reference'] / results['durable']:.2f}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
