"""An in-memory source for tests: a list of raw items served in pages, with optional failures."""

from __future__ import annotations

from integrations.sources.base import ConfiguredSource, Page, RawItem, SourceUnavailable
from integrations.sources.mapping import SourceConfig


class FakeSource(ConfiguredSource):
    """Serves ``items`` in order; the cursor is the offset. ``fail_on_fetch`` makes fetch number N raise."""

    def __init__(
        self,
        config: SourceConfig,
        items: list[RawItem] | None = None,
        *,
        fail_on_fetch: set[int] | None = None,
    ) -> None:
        self._config = config
        self.items: list[RawItem] = list(items or [])
        self.fail_on_fetch = fail_on_fetch or set()
        self.fetches = 0

    def append(self, *items: RawItem) -> None:
        """Add items at the end (a later run sees them)."""
        self.items.extend(items)

    def fetch(self, cursor: str | None, *, limit: int) -> Page:
        """Items ``[cursor, cursor+limit)``."""
        self.fetches += 1
        if self.fetches in self.fail_on_fetch:
            raise SourceUnavailable(self.name, f"injected failure on fetch {self.fetches}")
        start = int(cursor or 0)
        chunk = self.items[start : start + limit]
        end = start + len(chunk)
        return Page(chunk, str(end), f"fake:{start}", has_more=end < len(self.items))

    def close(self) -> None:
        """Nothing to release."""
