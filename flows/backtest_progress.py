"""Progress of a long ``fenghuo backtest``: reading the file, then each rulebook's evaluation; or the days
of stored records read and evaluated.

A rule author backtests files of millions of records (a million takes about half a minute); without this,
the command said nothing while reading and showed only a spinner while evaluating. The bars go to stderr
(stdout carries the table or the JSON lines), only on a terminal, and vanish when done. They cost nothing
measurable: the file's position is read once per block of lines (:data:`_BLOCK`), the evaluation reports
once per batch (:data:`rules.run.backtest.BATCH` records).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from integrations.i18n import _

__all__ = ["BacktestProgress", "backtest_progress", "counted_lines"]

_BLOCK = 4096
"""Lines read between two looks at the file's position."""


def counted_lines(lines: TextIO, advance: Callable[[int], None]) -> Iterator[str]:
    """The lines of the text file ``lines``, calling ``advance(bytes)`` with the bytes read since its last
    call, once per block of lines and once at the end. The position is the binary buffer's (a text file's
    own ``tell`` is refused while it is iterated): ahead of the lines given by at most one read chunk."""
    raw = lines.buffer
    done = raw.tell()
    it = iter(lines)
    while block := list(islice(it, _BLOCK)):
        yield from block
        at = raw.tell()
        advance(at - done)
        done = at


class BacktestProgress:
    """The bars of one backtest: :meth:`reading` a file, then :meth:`evaluating` per rulebook; or, over the
    stored records, :meth:`days` per rulebook (read and evaluated a day at a time)."""

    def __init__(self, progress: Progress) -> None:
        """``progress``: the rich display the bars are added to (running)."""
        self._progress = progress

    def reading(self, size: int, label: str | None = None) -> Callable[[int], None]:
        """A bar for reading ``size`` bytes (``label``: what else happens meanwhile); returns what advances it
        by a number of bytes."""
        task = self._progress.add_task(label or _("读取记录"), total=size or None, kind="bytes")
        return lambda n: self._progress.advance(task, n)

    def days(self, days: int, label: str | None = None) -> Callable[[int], None]:
        """A bar for reading and evaluating ``days`` days of stored records (``label``: which rulebook, when
        two are compared); returns what advances it by a number of days."""
        task = self._progress.add_task(label or _("研判存储中的记录"), total=days or None, kind="days")
        return lambda n: self._progress.advance(task, n)

    def evaluating(self, records: int, label: str | None = None) -> Callable[[int], None]:
        """A bar for evaluating ``records`` (``label``: which rulebook, when two are compared); returns what
        advances it by a number of records."""
        task = self._progress.add_task(label or _("研判"), total=records or None, kind="records")
        return lambda n: self._progress.advance(task, n)


class _Amount(ProgressColumn):
    """``12,345/300,000 条`` for records; a file's bytes as rich shows a download."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = DownloadColumn()

    def render(self, task: Task) -> Text:
        """The amount done (and the total, when known) of ``task``."""
        if task.fields.get("kind") == "bytes":
            return self._bytes.render(task)
        shown = f"{int(task.completed):,}" + (f"/{int(task.total):,}" if task.total is not None else "")
        unit = _("天") if task.fields.get("kind") == "days" else _("条")
        return Text(shown + " " + unit, style="progress.download")


@contextmanager
def backtest_progress(console: Console, *, enabled: bool = True) -> Iterator[BacktestProgress]:
    """Bars on ``console`` while the block runs, removed at its end; shown only when ``enabled`` and the
    console is a terminal (a pipe or a file gets none of it)."""
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        _Amount(),
        TextColumn(_("剩余")),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    )
    with progress:
        yield BacktestProgress(progress)

