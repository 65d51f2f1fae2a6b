"""What every departmental source offers the ingest: pages of raw items from a cursor.

Exceptions (every failure of a source is a :class:`SourceError`; httpx errors never leave
``integrations/``)::

    SourceError                  a source could not deliver; the message says what to do next
     ├── SourceUnavailable       connect errors, timeouts, 5xx, still failing after the retries
     │    └── SourceRateLimited  429 after the retries, or a Retry-After longer than we wait
     ├── SourceRequestError      a 4xx other than 429: the request is wrong (path, cursor, credentials)
     └── SourceStalled           page after page unreadable at one cursor (raised by the ingest)

In every case the cursor has not moved past anything uncommitted: running the ingest again is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from domain.messages import N_, Message
from integrations.sources.mapping import SourceConfig

RawItem = dict[str, Any] | str
"""An item as the department sent it: a JSON object, or text that did not parse."""


class SourceError(Exception):
    """A source could not deliver a page. ``str(error)`` says what happened and what to do next."""

    def __init__(self, source: str, message: str) -> None:
        # A Message (Chinese, translated where it is shown): the source's name, then what happened.
        super().__init__(Message(N_("{source}：{message}"), source=source, message=message))
        self.source, self.message = source, message


class SourceUnavailable(SourceError):
    """The department's system did not answer usefully (connect error, timeout, 5xx) after retries."""


class SourceRateLimited(SourceUnavailable):
    """The department kept answering 429 Too Many Requests."""


class SourceRequestError(SourceError):
    """The department refused the request (4xx other than 429): a configuration problem, not a blip."""


class SourceStalled(SourceError):
    """The same cursor kept yielding unreadable pages; the ingest stopped instead of spinning."""


@dataclass(frozen=True)
class Page:
    """One page of a source.

    ``next_cursor`` is where the following fetch starts (the same cursor when the page could not be
    read, so it is fetched again); ``has_more`` says whether to ask again now; ``page_ref`` names the
    request (for quarantine); ``error`` is set when the page body itself was unreadable, in which case
    ``items`` holds the raw text as one item.
    """

    items: list[RawItem]
    next_cursor: str | None
    page_ref: str
    has_more: bool = False
    error: str | None = None


@runtime_checkable
class DataSource(Protocol):
    """A departmental source: a name (``Record.source``), a record kind, a field mapping, and pages."""

    @property
    def name(self) -> str:
        """The source's name, stored as ``Record.source``."""
        ...

    @property
    def kind(self) -> str:
        """The record kind its items become."""
        ...

    @property
    def config(self) -> SourceConfig:
        """How its items map to records."""
        ...

    def fetch(self, cursor: str | None, *, limit: int) -> Page:
        """The page after ``cursor`` (``None``: from the beginning). Raises only :class:`SourceError`."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class ConfiguredSource:
    """The part every source shares: its name, record kind and field mapping, from its ``SourceConfig``."""

    _config: SourceConfig

    @property
    def name(self) -> str:
        """Source name (``Record.source``)."""
        return self._config.name

    @property
    def kind(self) -> str:
        """Record kind of its items."""
        return self._config.kind

    @property
    def config(self) -> SourceConfig:
        """Field mapping."""
        return self._config
