"""Read-ahead for the ingest: a source's next pages fetched and mapped on two helper threads.

While the ingest writes page *n*, one helper fetches pages *n+1* and *n+2* in turn (the department
prepares each meanwhile) and the other maps page *n+1* — but only once page *n*'s rows are being
written (:meth:`ReadAhead.next` hands the ingest a gate to open then). That timing is the point:

- SQLite writes a page in one statement without the GIL (several milliseconds), and PostgreSQL
  finishes a page's COPY and commit while the driver waits without it, so the mapping's Python runs
  beside them;
- mapped any earlier, it would hold the GIL while the ingest builds its rows, and every short call
  into the database (each one releases and takes back the GIL) would wait for the mapping to let go.

The helpers only read: the cursor still moves page by page, after each commit, and a fetch error
surfaces when the ingest reaches that page, after everything before it is committed. (A shorter thread
switch interval, so that the ingest would take the GIL back sooner after each database call, made no
difference measurable on two cores.)
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from integrations.sources.base import DataSource, Page

__all__ = ["ReadAhead"]

T = TypeVar("T")

_FETCHED_AHEAD = 2
"""Pages fetched beyond the one being written: one being mapped, one more on its way."""

class ReadAhead(Generic[T]):
    """Pages of ``source`` from ``cursor`` on, each turned into a ``T`` by ``convert`` (see the module).

    ``convert(page, gate)`` runs on a helper thread; it waits for ``gate`` before any long Python work.

    Use as a context manager; :meth:`next` returns the next converted page and the gate that lets the
    page after it be converted. Leaving the block (also on an error) opens every gate, cancels what has
    not started and waits for the helpers' current work (a fetch in flight ends by its own timeout).
    """

    def __init__(
        self, source: DataSource, cursor: str | None, page_size: int, convert: Callable[[Page, threading.Event], T]
    ) -> None:
        self._source, self._page_size, self._convert = source, page_size, convert
        self._fetcher = ThreadPoolExecutor(1, thread_name_prefix=f"fetch-{source.name}")
        self._mapper = ThreadPoolExecutor(1, thread_name_prefix=f"map-{source.name}")
        self._gate: threading.Event | None = None
        self._fetches: deque[Future[tuple[Page, str | None] | None]] = deque()
        self._cursor = cursor
        self._last: Future[tuple[Page, str | None] | None] | None = None
        for _ in range(_FETCHED_AHEAD):
            self._fetch_one_more()
        open_gate = threading.Event()
        open_gate.set()
        self._converted: Future[T | None] = self._convert_next(open_gate)

    def _fetch_one_more(self) -> None:
        self._last = self._fetcher.submit(self._fetch_after, self._last)
        self._fetches.append(self._last)

    def _fetch_after(self, before: Future[tuple[Page, str | None] | None] | None) -> tuple[Page, str | None] | None:
        # Runs on the fetch thread, after the fetch of `before` (one thread: submission order).
        if before is None:
            cursor = self._cursor
        else:
            prev = before.result()
            if prev is None or not prev[0].has_more:
                return None
            cursor = prev[0].next_cursor or prev[1]  # an unreadable page is asked for again
        return self._source.fetch(cursor, limit=self._page_size), cursor

    def _convert_next(self, gate: threading.Event) -> Future[T | None]:
        fetched = self._fetches.popleft()

        def convert() -> T | None:
            got = fetched.result()
            if got is None:
                return None
            return self._convert(got[0], gate)

        self._gate = gate
        return self._mapper.submit(convert)

    def next(self) -> tuple[T, threading.Event]:
        """The next page, converted, and the gate to open once it is being written (or on an error).

        Raises what the fetch or the conversion raised; ``LookupError`` after the last page.
        """
        got = self._converted.result()
        if got is None:
            raise LookupError("no more pages")
        gate = threading.Event()
        self._fetch_one_more()
        self._converted = self._convert_next(gate)
        return got, gate

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        # Fetches not started are dropped first, so a conversion waiting for one ends (cancelled) at once.
        self._fetcher.shutdown(wait=False, cancel_futures=True)
        if self._gate is not None:
            self._gate.set()
        self._mapper.shutdown(wait=True, cancel_futures=True)
        self._fetcher.shutdown(wait=True)
