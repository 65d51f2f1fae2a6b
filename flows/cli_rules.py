"""``fenghuo rules check|test`` and ``fenghuo backtest``: for rule authors. Never starts Prefect."""

from __future__ import annotations

import json
import sys
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.console import console, err_console, fail
from integrations.settings import get_settings

app = typer.Typer(help="Check and test rule files (no Prefect, no store).", no_args_is_help=True)

PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="rule files or folders (every *.yaml under them); default: the configured rulebook"),
]


def _existing(paths: list[Path] | None) -> list[Path] | None:
    for p in paths or []:
        if not p.exists():
            fail(f"{p}: no such file or folder")
    return paths or None


@app.command("check")
def check_cmd(paths: PathsArg = None) -> None:
    """Validate rule files: one `FILE:LINE: message` line per error; exit 1 on any."""
    from rules.language.check import check_paths

    result = check_paths(_existing(paths), rulebook=get_settings().rulebook)
    for line in result.lines():
        typer.echo(line)
    err_console.print(result.summary(), style="green" if result.ok else "red", highlight=False)
    raise typer.Exit(0 if result.ok else 1)


@app.command("test")
def test_cmd(
    paths: PathsArg = None,
    engine: Annotated[str, typer.Option(help="durable (production) or reference (the oracle)")] = "durable",
) -> None:
    """Run the tests inside rule files; closes with `N passed, M failed`; exit 1 on a failure."""
    from rules.language.loader import load_rulebook
    from rules.run.cli_support import print_tests

    book = load_rulebook(_existing(paths), rulebook=get_settings().rulebook)
    for error in book.errors:
        typer.echo(str(error))
    code = print_tests(book, out=sys.stdout, engine=engine)
    raise typer.Exit(1 if code or book.errors else 0)


_CST = timezone(timedelta(hours=8))


def _since(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since {text!r} is not a date; write it like 2026-01-01 or 2026-01-01T08:00:00+08:00")
    if value.tzinfo is None:
        # A bare date or time means Asia/Shanghai, where the records' days are counted.
        value = datetime.combine(value.date(), value.time() or time(0), tzinfo=_CST)
    return value


def backtest_cmd(
    rules: Annotated[Path | None, typer.Option("--rules", help="rule file or folder; default the rulebook")] = None,
    records: Annotated[Path | None, typer.Option("--records", help="JSON lines shaped like test records")] = None,
    since: Annotated[str | None, typer.Option(help="instead of --records: the stored records from this date")] = None,
    until: Annotated[str | None, typer.Option(help="with --since: up to this date (exclusive)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or jsonl")] = "table",
    engine: Annotated[str, typer.Option(help="durable or reference")] = "durable",
    workers: Annotated[int | None, typer.Option(
        help="with --since: shard the backtest over this many local processes (same output)")] = None,
) -> None:
    """Evaluate records with no store writes and no notifications; print the warnings they would open."""
    from rules.language.loader import load_rulebook
    from rules.run.backtest import JsonlLineError, backtest, parse_jsonl

    if fmt not in ("table", "jsonl"):
        fail(f"--format {fmt!r}: use table or jsonl")
    if (records is None) == (since is None):
        fail("give either --records FILE.jsonl or --since DATE")
    if workers is not None and since is None:
        fail("--workers shards a backtest of the store: give --since DATE")
    if workers is not None and workers < 1:
        fail(f"--workers {workers}: give at least 1 process")
    book = load_rulebook(_existing([rules] if rules else None), rulebook=get_settings().rulebook)
    for error in book.errors:
        err_console.print(str(error), highlight=False)
    if workers is not None:
        from flows.cli_backtest import sharded_rows

        rows, n = sharded_rows(book, _since(since or ""), _since(until) if until else None, workers, engine)
        _print_rows(rows, n, fmt)
        return
    if records is not None:
        if not records.exists():
            fail(f"{records}: no such file")
        try:
            with records.open(encoding="utf-8") as lines:
                items = list(parse_jsonl(lines, book.kinds))
        except JsonlLineError as exc:
            fail(f"{records}:{exc.line}: {exc.reason}")
    else:
        items = _stored_records(_since(since or ""), _since(until) if until else None)
    # Records may come in any order: the engine's order is (at, source, id).
    items.sort(key=lambda r: r.key)
    with console.status(f"evaluating {len(items)} records …", spinner="dots") if fmt == "table" else _null():
        rows = backtest(book, items, engine)
    _print_rows(rows, len(items), fmt)


def _print_rows(rows: list[dict[str, Any]], n_records: int, fmt: str) -> None:
    if fmt == "jsonl":
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    _print_table(rows, n_records)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _stored_records(since: datetime, until: datetime | None) -> list[Any]:
    from sqlmodel import Session

    from flows.console import open_engine
    from integrations.store.records import records_between

    with Session(open_engine()) as session:
        return records_between(session=session, since=since, until=until or datetime.max.replace(tzinfo=_CST))


def _print_table(rows: list[dict[str, Any]], n_records: int) -> None:
    from rich.table import Table

    from flows.cli_warnings import LEVEL_STYLE

    table = Table(title=f"{len(rows)} warnings from {n_records} records")
    for col in ("rule", "level", "region", "first", "last", "occ.", "explanation"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["rule"], f"[{LEVEL_STYLE.get(r['level'], '')}]{r['level']}[/]", r["region"],
                      r["first_at"][:16], r["last_at"][:16], str(r["occurrences"]),
                      r["explanation"].splitlines()[0][:80] if r["explanation"] else "")
    console.print(table)
