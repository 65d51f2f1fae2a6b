"""The simulator's in-memory departmental databases: items per kind in update-sequence order.

Every added or changed item gets the next update sequence number; a page lists the latest version of
each item after a cursor, so an incremental client sees a changed item again (once, at its new place).
"""

from __future__ import annotations

import base64
import bisect
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from integrations.simulator.generate import ID_FIELD, Entry


class CursorError(ValueError):
    """A cursor that this simulator did not issue."""


def encode_cursor(seq: int) -> str:
    """Opaque cursor for "after update sequence ``seq``"."""
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The update sequence a cursor stands for (0 for none); :class:`CursorError` if it is not ours."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, seq = text.split(":")
        if prefix != "v1":
            raise ValueError(prefix)
        return int(seq)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CursorError(f"unknown cursor {cursor!r}") from exc


def item_id(kind: str, item: dict[str, Any]) -> str:
    """The department's id of an item."""
    return str(item.get(ID_FIELD.get(kind, "id")))


class Feed:
    """Thread-safe per-kind logs of items, each stamped with a global update sequence."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self._seqs: dict[str, list[int]] = {k: [] for k in kinds}
        self._items: dict[str, list[dict[str, Any]]] = {k: [] for k in self._seqs}
        self._times: dict[str, list[datetime]] = {k: [] for k in self._seqs}
        self.visible_until: datetime | None = None
        """When set, only entries the departments had recorded by then are served (a simulated clock)."""
        self._latest: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._seq = 0

    @property
    def kinds(self) -> list[str]:
        """The kinds this feed serves."""
        return list(self._seqs)

    def add(self, entries: Iterable[Entry]) -> int:
        """Append entries (new items or new versions of known ones); returns how many."""
        n = 0
        with self._lock:
            for e in entries:
                self._seq += 1
                self._seqs[e.kind].append(self._seq)
                self._items[e.kind].append(e.item)
                self._times[e.kind].append(e.updated_at)
                self._latest[(e.kind, item_id(e.kind, e.item))] = (self._seq, e.updated_at)
                n += 1
        return n

    def get(self, kind: str, id_: str) -> dict[str, Any] | None:
        """The latest version of an item, or ``None``."""
        with self._lock:
            latest = self._latest.get((kind, id_))
            if latest is None:
                return None
            seq = latest[0]
            return dict(self._items[kind][bisect.bisect_left(self._seqs[kind], seq)])

    def count(self, kind: str) -> int:
        """How many distinct items of ``kind`` exist."""
        with self._lock:
            return sum(1 for k, _ in self._latest if k == kind)

    def page(self, kind: str, after: int, limit: int) -> tuple[list[dict[str, Any]], int, bool]:
        """Up to ``limit`` latest-version items after sequence ``after``: (items, last seq, more?).

        With :attr:`visible_until` set, the page ends at the first entry recorded after it (so a cursor
        never skips an entry that is revealed later).
        """
        with self._lock:
            seqs, items, times = self._seqs[kind], self._items[kind], self._times[kind]
            until = self.visible_until
            i = bisect.bisect_right(seqs, after)
            out: list[dict[str, Any]] = []
            last = after
            while i < len(seqs) and len(out) < limit and (until is None or times[i] <= until):
                item = items[i]
                # An item changed since is served at its newer place only (once that is revealed).
                newest_seq, newest_at = self._latest[(kind, item_id(kind, item))]
                if newest_seq == seqs[i] or (until is not None and newest_at > until):
                    out.append(dict(item))
                last = seqs[i]
                i += 1
            return out, last, i < len(seqs) and (until is None or times[i] <= until)
