"""The end-to-end path of the rules bench (``rules_bench.py --engines cli``): the bench's stream written
as JSON lines and run through ``fenghuo backtest --records`` as a real process, on a tenth of the records
and on all of them; the marginal rate cancels the process start, the imports and the rule loading."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import rules_bench  # bench/ is on sys.path: a script's own folder
from backtest_bench import run_cli

from rules.language.loader import default_rulebook


def write_jsonl(path: Path, n: int, seed: int, per_day: int, places: int | None = None) -> None:
    """The first ``n`` records of :func:`rules_bench.stream` as JSON lines (the record shape)."""
    with path.open("w", encoding="utf-8") as out:
        for chunk in rules_bench.stream(n, seed, per_day, places):
            out.write("".join(json.dumps({"kind": r.kind, "source": r.source, "id": r.id, "at": r.at.isoformat(),
                                          "region": r.region, **r.attributes}, ensure_ascii=False) + "\n"
                              for r in chunk))


def cli_marginal(rules: Path | None, n: int, seed: int, per_day: int, places: int | None = None
                 ) -> tuple[float, float, int]:
    """(CPU rate, wall rate, output lines of the large run) of the CLI's marginal records/s."""
    small = max(n // 10, 1)
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for size in (small, n):
            files[size] = Path(tmp) / f"stream-{size}.jsonl"
            write_jsonl(files[size], size, seed, per_day, places)
        book = rules or default_rulebook()
        cs, ws, _ = run_cli(book, files[small], "jsonl")
        cl, wl, lines = run_cli(book, files[n], "jsonl")
    extra = n - small
    return extra / max(cl - cs, 1e-9), extra / max(wl - ws, 1e-9), lines
