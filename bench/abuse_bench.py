"""Hostile input at scale: each case's wall time and peak memory (tracemalloc), none should take more
than a few seconds.

    uv run python bench/abuse_bench.py

1. A page of 1,000 hostile items (lone surrogates, NULs, 10^30 people, 1e308, −5, year 0001, texts
   over their length, one of 5 MB, cut JSON) mapped and stored on a fresh SQLite store: every item quarantined with
   its reason, the good ones stored.
2. A ``matches`` condition (a backtracking shape, ``(a+)+c``) against a 100,000-character subject, in
   both engines: RE2 runs it in linear time.
3. 1,000 bogus one-click link requests from 8 threads at the web app: refused, and the audit stays
   bounded (20 rows per client address in 15 minutes).
4. A rule file of 300 nested ``any``/``not`` and one of 20 MB: FILE:LINE errors, the other rules load.
"""

from __future__ import annotations

import json
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


def measure(name: str, work: Callable[[], str]) -> None:
    """Run ``work`` and print its wall time, peak traced memory and what it says of its result."""
    tracemalloc.start()
    t0 = time.perf_counter()
    said = work()
    took = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{name:<52} {took:7.2f} s  peak {peak / 2**20:7.1f} MB  {said}")


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
                              attributes={"subject": "a" * 100_000 + ("c" if i == 0 else "")}) for i in range(2)]
            warnings = backtest(book, records, engine_name)
        return f"{len(warnings)} warning(s), as expected 1"
    return run


def bogus_links() -> str:
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
            codes = list(pool.map(lambda i: client.get(f"/a/v1.{i}.ack.bogus{'x' * 2_000}").status_code,
                                  range(1_000)))
        with Session(engine) as s:
            audited = len(s.exec(select(AuditRow)).all())
        engine.dispose()
    return f"statuses {dict(sorted({c: codes.count(c) for c in set(codes)}.items()))}, audit rows {audited}"


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


def main() -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory() as d:
        measure("1,000 hostile items, one page, SQLite", lambda: hostile_page(Path(d)))
    for name in ("durable", "reference"):
        measure(f"matches (a+)+c on 100,000 characters, {name}", long_subject(name))
    measure("1,000 bogus link requests, 8 threads", bogus_links)
    measure("300-deep conditions, a 20 MB file, a good file", bad_rule_files)
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main()
