"""The ingest's read-ahead: pages in order from the right cursors, errors where they happened, no hang."""

from __future__ import annotations

import threading

import pytest

from integrations.ingest.ahead import ReadAhead
from integrations.sources.base import Page, SourceUnavailable


class Pages:
    """A source of numbered pages: page k answers cursor str(k); ``broken`` cursors are unreadable once
    (same cursor back); ``fail_at`` raises; every fetch is logged with its cursor."""

    name = "pages"

    def __init__(self, n: int, *, broken: set[str] = frozenset(), fail_at: str | None = None) -> None:  # type: ignore[assignment]
        self.n, self.broken, self.fail_at = n, set(broken), fail_at
        self.asked: list[str | None] = []

    def fetch(self, cursor: str | None, *, limit: int) -> Page:
        self.asked.append(cursor)
        k = int(cursor or 0)
        if self.fail_at is not None and cursor == self.fail_at:
            raise SourceUnavailable(self.name, "down")
        if cursor in self.broken:
            self.broken.discard(cursor)
            return Page(["garbage"], cursor, f"?cursor={cursor}", has_more=True, error="unparseable")
        return Page([f"item-{k}"], str(k + 1), f"?cursor={cursor}", has_more=k + 1 < self.n)


def _take_all(ahead: ReadAhead[Page]) -> list[Page]:
    pages = []
    while True:
        page, gate = ahead.next()
        gate.set()
        pages.append(page)
        if not page.has_more:
            return pages


def _as_is(page: Page, gate: threading.Event) -> Page:
    gate.wait()
    return page


def test_pages_come_in_order_from_the_cursor_each_page_gives() -> None:
    src = Pages(6)
    with ReadAhead(src, None, 10, _as_is) as ahead:  # type: ignore[arg-type]
        pages = _take_all(ahead)
    assert [p.items for p in pages] == [[f"item-{k}"] for k in range(6)]
    assert src.asked == [None, "1", "2", "3", "4", "5"]  # each page once, nothing past the last


def test_an_unreadable_page_is_asked_for_again_from_the_same_cursor() -> None:
    src = Pages(4, broken={"2"})
    with ReadAhead(src, "1", 10, _as_is) as ahead:  # type: ignore[arg-type]
        pages = _take_all(ahead)
    assert [p.error for p in pages] == [None, "unparseable", None, None]
    assert src.asked == ["1", "2", "2", "3"]


def test_a_fetch_error_surfaces_at_its_page_after_the_pages_before_it() -> None:
    src = Pages(9, fail_at="3")
    with ReadAhead(src, None, 10, _as_is) as ahead:  # type: ignore[arg-type]
        got = []
        for _ in range(3):
            page, gate = ahead.next()
            gate.set()
            got.append(page.items)
        with pytest.raises(SourceUnavailable):
            ahead.next()
    assert got == [["item-0"], ["item-1"], ["item-2"]]
    assert "4" not in src.asked  # nothing is fetched past a failed page


def test_leaving_early_does_not_wait_for_a_gate_nobody_opens() -> None:
    src = Pages(50)
    waiting = threading.Event()

    def convert(page: Page, gate: threading.Event) -> Page:
        waiting.set()
        gate.wait()
        return page

    def run() -> None:
        with ReadAhead(src, None, 10, convert) as ahead:  # type: ignore[arg-type]
            waiting.clear()
            ahead.next()  # its gate is never opened: the next page's conversion waits on it
            assert waiting.wait(5)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "leaving the read-ahead waited for a gate"
    assert len(src.asked) <= 4  # two ahead at most, whatever was in flight


def test_the_conversion_runs_on_a_helper_thread_once_its_gate_opens() -> None:
    threads: list[str] = []

    def convert(page: Page, gate: threading.Event) -> Page:
        gate.wait()
        threads.append(threading.current_thread().name)
        return page

    with ReadAhead(Pages(3), None, 10, convert) as ahead:  # type: ignore[arg-type]
        _take_all(ahead)
    assert len(threads) == 3 and threading.current_thread().name not in threads
