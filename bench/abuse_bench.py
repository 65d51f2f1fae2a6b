"""Hostile input at scale: each case's wall time and peak memory, none should take more than a few seconds.

    uv run python bench/abuse_bench.py [--case NAME ...] [--trace-memory]

Each case runs in a fresh child process (one case's garbage or caches never weigh on the next): its wall
time, and its peak resident memory (the child's ``ru_maxrss``, printed beside what the process held just
before the case began: the interpreter and the imports). ``--trace-memory`` measures Python's own
allocations with tracemalloc instead, which slows allocation-heavy cases several times over.

1. A page of 1,000 hostile items (lone surrogates, NULs, 10^30 people, 1e308, −5, year 0001, texts
   over their length, one of 5 MB, cut JSON, an item nested 100,000 deep) mapped and stored on a fresh
   SQLite store: every bad item quarantined with its reason, the good ones stored.
2. A ``matches`` condition (a backtracking shape, ``(a+)+c``) against a 100,000-character subject (the
   evaluation budget's limit, ``rules.engine.budget.MAX_MATCH_TEXT``), in both engines: RE2 runs it in
   linear time.
3. 1,000 bogus one-click link requests from 8 threads at the web app: refused, and the audit stays
   bounded (20 rows per client address in 15 minutes). Beside it, its floor: as many requests through
   the same test client to a path no route has (the test client alone costs milliseconds a request).
4. A rule file of 300 nested ``any``/``not`` and one of 20 MB: FILE:LINE errors, the other rules load.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_line  # noqa: E402


def measure(name: str, work: Callable[[], str], trace: bool) -> dict[str, Any]:
    """Run ``work`` in this process: wall time, peak memory and what it says of its result."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    said = work()
    took = time.perf_counter() - t0
    out = {"case": name, "seconds": took, "said": said, "rss_before_mb": before,
           "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if trace:
        out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


def hostile_page(folder: Path) -> str:
    from domain.kinds import RecordKinds
    from integrations.ingest.run import ingest_source
    from integrations.sources import DEPARTMENTS, FakeSource
    from integrations.store.db import open_store

    base = {"occurred_at": "2026-01-05T09:00:00+08:00", "region_code": "510104001001001",
            "id_card": "51010419900101123X", "people": 3, "subject": "欠薪", "channel": "visit"}
    bad: list[dict[str, Any]] = [{"subject": "\ud800"}, {"subject": "a\x00b"}, {"people": 10**30},
                                 {"people": 1e308}, {"people": -5}, {"occurred_at": "0001-01-01T00:00:00+08:00"},
                                 {"subject": "访" * 20_000}, {"id_card": "\udfff"}]
    items: list[Any] = []
    for i in range(1_000):
        if i % 10 == 9:
            items.append({**base, "id": f"XF-{i}"})
        elif i % 10 == 8:
            items.append('{"id": "XF-' + str(i) + '", "occ')  # cut JSON
        else:
            items.append({**base, "id": f"XF-{i}", **bad[i % len(bad)]})
    items[0] = {**base, "id": "XF-0", "subject": "访" * 5_000_000}  # and one 5 MB text
    deep: list[Any] = []
    for _ in range(100_000):  # and one nested past the interpreter's stack (built without recursion)
        deep = [deep]
    items[1] = {**base, "id": "XF-1", "subject": deep}
    engine = open_store(f"sqlite:///{folder}/abuse.db")
    report = ingest_source(engine, FakeSource(DEPARTMENTS[0], items), kinds=RecordKinds.load(
        ROOT / "rules" / "kinds.yaml"), key="bench-key", page_size=1_000, now=datetime(2026, 2, 1, tzinfo=UTC))
    engine.dispose()
    return f"stored {report.stored}, quarantined {report.quarantined} {dict(sorted(report.reasons.items()))}"


def long_subject(engine_name: str) -> Callable[[], str]:
    def run() -> str:
        from domain.records import Record
        from rules.language.loader import load_rulebook
        from rules.run.backtest import backtest

        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "regex.yaml"
            path.write_text("ruleset: abuse\nrules:\n  - id: backtracking-shape\n    record: petition\n"
                            "    where: {subject: {matches: '(a+)+c'}}\n    levels:\n"
                            "      - {level: blue}\n    summary: x\n", encoding="utf-8")
            book = load_rulebook([path], rulebook=ROOT / "rules" / "catalog")
            assert not book.errors, book.errors
            at = datetime(2026, 1, 5, tzinfo=UTC)
            records = [Record(kind="petition", source="b", id=f"r{i}", at=at, region="510104001001001",
                              attributes={"subject": "a" * 99_999 + ("c" if i == 0 else "a")}) for i in range(2)]
            warnings = backtest(book, records, engine_name)
        return f"{len(warnings)} warning(s), as expected 1"
    return run


def bogus_links(path: str = "/a/v1.{i}.ack.bogus" + "x" * 2_000) -> Callable[[], str]:
    """1,000 GETs of ``path`` (``{i}`` the request's number) from 8 threads at the web app on a fresh store."""
    def run() -> str:
        from fastapi.testclient import TestClient
        from sqlmodel import Session, select

        from integrations.actions_api import create_app
        from integrations.settings import Settings
        from integrations.store.db import open_store
        from integrations.store.models import AuditRow

        with tempfile.TemporaryDirectory() as d:
            engine = open_store(f"sqlite:///{d}/links.db")
            client = TestClient(create_app(engine, Settings()))
            with ThreadPoolExecutor(8) as pool:
                codes = list(pool.map(lambda i: client.get(path.format(i=i)).status_code, range(1_000)))
            with Session(engine) as s:
                audited = len(s.exec(select(AuditRow)).all())
            engine.dispose()
        return f"statuses {dict(sorted({c: codes.count(c) for c in set(codes)}.items()))}, audit rows {audited}"
    return run


def bad_rule_files() -> str:
    from rules.language.loader import load_rulebook

    with tempfile.TemporaryDirectory() as d:
        nested = "{any: [" * 150 + "{people: {gte: 1}}" + "]}" * 150
        (Path(d) / "deep.yaml").write_text(f"ruleset: deep\nrules:\n  - id: deep\n    record: petition\n"
                                           f"    where: {nested}\n    levels: [{{level: blue}}]\n", encoding="utf-8")
        (Path(d) / "huge.yaml").write_bytes(b"ruleset: huge\n#" + b"x" * 20_000_000 + b"\n")
        (Path(d) / "good.yaml").write_text((ROOT / "rules" / "catalog" / "petitions.yaml").read_text("utf-8"),
                                           encoding="utf-8")
        book = load_rulebook([Path(d)], rulebook=ROOT / "rules" / "catalog")
    return f"{len(book.rules)} rules loaded; errors: " + "; ".join(str(e)[:70] for e in book.errors)


CASES: dict[str, tuple[str, Callable[[], str]]] = {
    "page": ("1,000 hostile items, one page, SQLite", lambda: _in_folder(hostile_page)),
    "regex-durable": ("matches (a+)+c on 100,000 characters, durable", long_subject("durable")),
    "regex-reference": ("matches (a+)+c on 100,000 characters, reference", long_subject("reference")),
    "links": ("1,000 bogus link requests, 8 threads", bogus_links()),
    # The floor of the case above: the same client and threads, a path no route has (404 from the router).
    # FastAPI's TestClient costs milliseconds a request by itself (a portal thread per call).
    "links-floor": ("1,000 requests to no route, 8 threads (floor)", bogus_links("/no-route-{i}")),
    "rule-files": ("300-deep conditions, a 20 MB file, a good file", bad_rule_files),
}


def _import_everything() -> None:
    """Import what the cases use before any is timed: a case's figure is its work, not Python's imports."""
    import fastapi.testclient  # noqa: F401
    import sqlmodel  # noqa: F401

    import domain.kinds
    import domain.records  # noqa: F401
    import integrations.actions_api
    import integrations.ingest.run
    import integrations.sources
    import integrations.store.db  # noqa: F401
    import rules.language.loader
    import rules.run.backtest  # noqa: F401


def _in_folder(work: Callable[[Path], str]) -> str:
    with tempfile.TemporaryDirectory() as d:
        return work(Path(d))


def main() -> None:
    """Run the chosen cases, each in a child process, and print one line per case (and JSON at the end)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="only this case (repeatable)")
    parser.add_argument("--trace-memory", action="store_true",
                        help="peak of Python's allocations by tracemalloc (slower) beside the resident peak")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one case, in this process: what the parent runs
    args = parser.parse_args()
    if args.child:
        _import_everything()
        title, work = CASES[args.child]
        print(json.dumps(measure(title, work, args.trace_memory), ensure_ascii=False))
        return
    print(machine_line())
    results = []
    for case in args.case or list(CASES):
        command = [sys.executable, __file__, "--child", case] + (["--trace-memory"] if args.trace_memory else [])
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        traced = f", traced {result['traced_peak_mb']:.1f} MB" if "traced_peak_mb" in result else ""
        print(f"{result['case']:<52} {result['seconds']:7.2f} s  peak RSS {result['rss_peak_mb']:7.1f} MB "
              f"({result['rss_before_mb']:.1f} before{traced})  {result['said']}")
    print(json.dumps({"ok": True, "results": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
