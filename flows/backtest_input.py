"""What ``fenghuo backtest`` evaluates: a JSON-lines file or the stored records, without holding more in
memory than it must.

A file in the engine's order (``records export`` writes one) is evaluated as it is read: a file of ten million
records would otherwise sit in memory whole, waiting to be sorted. Records may come in any order, though; the
first record behind its predecessor stops that pass, and the file is read again whole and sorted — the same
warnings either way, the second pass paid only by a file out of order. The stored records stream in a day at
a time. Every bad input is one line naming ``FILE:LINE`` (:func:`flows.console.fail`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from flows.backtest_progress import BacktestProgress, counted_lines
from flows.console import fail
from integrations.i18n import _, translate

__all__ = ["backtest_file", "backtest_stored", "check_file"]

Rows = list[dict[str, Any]]


def check_file(path: Path) -> None:
    """One error line unless ``path`` is a file that can be read as records."""
    if not path.exists():
        fail(_("{path}：文件不存在").format(path=path))
    if path.is_dir():
        fail(_("{path}：是文件夹，请给出一个 JSON lines 文件").format(path=path))


def backtest_file(path: Path, book: Any, old: Any, engine: str, bars: BacktestProgress,
                  labels: tuple[str | None, str | None]) -> tuple[Rows, Rows, int]:
    """The warnings of ``book`` (and of ``old``, when comparing; else ``[]``) over the records of ``path``,
    and how many records it holds. One rulebook: streamed while the file is in order (module docstring);
    two: read once, sorted, and evaluated by each."""
    from rules.run.backtest import backtest

    size = path.stat().st_size
    if old is None:
        stream = _InOrder(_records(path, book.kinds, bars.reading(size, _("读取并研判记录"))))
        try:
            return backtest(book, iter(stream), engine), [], stream.seen
        except _OutOfOrder:
            pass  # read again whole, sorted, below
    items = _read_records(path, book.kinds, bars.reading(size))
    items.sort(key=lambda r: r.key)  # the engine's order: (at, source, id)
    n = len(items)
    rows = backtest(book, items, engine, bars.evaluating(n, labels[0]))
    return rows, backtest(old, items, engine, bars.evaluating(n, labels[1])) if old is not None else [], n


def backtest_stored(book: Any, span: tuple[datetime, datetime | None], engine: str, bars: BacktestProgress,
                    label: str | None) -> tuple[Rows, int]:
    """The warnings of ``book`` over the stored records in ``span``, and how many records it read: they
    stream in a day at a time (a year of a city's records would not fit in memory), the bar counting days."""
    from flows.console import open_engine
    from integrations.records_io import stored_days
    from rules.run.backtest import backtest

    days, chunks = stored_days(open_engine(), *span)
    advance = bars.days(days, label)
    seen = 0

    def stream() -> Iterator[Any]:
        nonlocal seen
        for day in chunks:
            seen += len(day)
            yield from day
            advance(1)

    return backtest(book, stream(), engine), seen


class _OutOfOrder(Exception):
    """A record behind the one before it: the file must be sorted before it is evaluated."""


class _InOrder:
    """``records`` while each is at or after the one before it in the engine's order; :class:`_OutOfOrder` at
    the first that is not. :attr:`seen`: how many were given."""

    def __init__(self, records: Iterator[Any]) -> None:
        self.records = records
        self.seen = 0

    def __iter__(self) -> Iterator[Any]:
        last: tuple[datetime, str, str] | None = None
        for record in self.records:
            key = record.key
            if last is not None and key < last:
                raise _OutOfOrder
            last = key
            self.seen += 1
            yield record


def _records(path: Path, kinds: Any, advance: Callable[[int], None]) -> Iterator[Any]:
    """The records of a JSON-lines file as they are read (``advance``: told the bytes read, block by block)."""
    from rules.run.backtest import parse_jsonl

    # utf-8-sig: a file saved by a Windows editor may start with a BOM, which is not part of its first line
    with _reading(path), path.open(encoding="utf-8-sig") as lines:
        yield from parse_jsonl(counted_lines(lines, advance), kinds)


def _read_records(path: Path, kinds: Any, advance: Callable[[int], None]) -> list[Any]:
    """The records of a JSON-lines file, all of them (to be sorted)."""
    return list(_records(path, kinds, advance))


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A bad line, text that is not UTF-8 or a file that cannot be read, as one line naming ``FILE:LINE``."""
    from rules.run.backtest import JsonlLineError

    try:
        yield
    except JsonlLineError as exc:
        fail(f"{path}:{exc.line}: {translate(exc.reason)}")
    except UnicodeDecodeError:
        line, byte = _not_utf8(path)
        fail(_("{path}:{line}: 不是 UTF-8 文本（该行第 {byte} 字节）；请把文件另存为 UTF-8 编码").format(
            path=path, line=line, byte=byte))
    except OSError as exc:
        fail(_("{path}：无法读取：{reason}").format(path=path, reason=exc.strerror or exc))


def _not_utf8(path: Path) -> tuple[int, int]:
    """The line and byte (1-based, within that line) where ``path`` first stops being UTF-8: the decoder
    reading the file knows only its offset within a read chunk, which points nowhere a person can look."""
    with path.open("rb") as raw:
        for number, line in enumerate(raw, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, exc.start + 1
    return 1, 1  # pragma: no cover  # the text reader failed on the same bytes
