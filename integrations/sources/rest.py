"""A departmental REST source over httpx: paginated JSON with an opaque cursor, retried with care.

``GET {base_url}{path}?cursor=…&limit=N`` → ``{"items": [...], "next_cursor": ..., "has_more": ...}``.
One :class:`httpx.Client` per source, reused for every page. Connect errors, timeouts, 5xx and 429 are
retried with exponential backoff and full jitter (429 waits what ``Retry-After`` says); anything else
and exhausted retries become a :class:`~integrations.sources.base.SourceError`. A 200 whose body is
not a JSON page is returned as an unreadable :class:`Page` (the ingest quarantines it and asks again).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from integrations.settings import Settings
from integrations.sources.base import (
    Page,
    SourceError,
    SourceRateLimited,
    SourceRequestError,
    SourceUnavailable,
)
from integrations.sources.mapping import SourceConfig


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), if it parses."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RestSource:
    """A paginated JSON endpoint of one department (see the module docstring)."""

    def __init__(
        self,
        config: SourceConfig,
        *,
        base_url: str,
        timeout_s: float = 10.0,
        retries: int = 4,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_retry_after_s: float = 120.0,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self.retries = retries
        self.sleep = sleep
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self._rng = rng or random.Random()
        # Connecting should be quick on a LAN; reading a large page may take the whole budget.
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        try:
            self._client = httpx.Client(
                base_url=base_url, timeout=timeout, transport=transport, headers={"User-Agent": "fenghuo-ingest"}
            )
        except (httpx.InvalidURL, ValueError) as exc:
            raise SourceRequestError(
                config.name, f"invalid base URL {base_url!r}: {exc}; fix the source's settings"
            ) from exc

    @classmethod
    def from_settings(cls, config: SourceConfig, settings: Settings, **kw: Any) -> RestSource:
        """A source with the base URL, timeout and retries of ``settings``."""
        kw.setdefault("base_url", settings.simulator_url)
        kw.setdefault("timeout_s", settings.http_timeout_s)
        kw.setdefault("retries", settings.http_retries)
        return cls(config, **kw)

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

    def _backoff(self, attempt: int) -> float:
        return self._rng.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2**attempt))

    def fetch(self, cursor: str | None, *, limit: int) -> Page:
        """The page after ``cursor``; retried as the module docstring says. Raises only SourceError."""
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        ref = f"{self._config.path}?cursor={cursor or ''}&limit={limit}"
        problem = "no attempt made"
        rate_limited = False
        for attempt in range(self.retries + 1):
            wait: float | None = None
            try:
                resp = self._client.get(self._config.path, params=params)
            except httpx.TimeoutException as exc:
                problem = f"timed out ({type(exc).__name__})"
            except httpx.RequestError as exc:  # connect/read/protocol errors, a body that would not decode
                problem = f"could not connect or read ({type(exc).__name__}: {exc})"
            except httpx.HTTPError as exc:  # anything else httpx raises (e.g. an invalid URL): not a blip
                raise SourceRequestError(self.name, f"GET {ref} failed: {exc}; check the source's base URL") from exc
            else:
                if resp.status_code == 200:
                    return self._page(resp, cursor, ref)
                if resp.status_code == 429:
                    rate_limited = True
                    problem = "answered 429 Too Many Requests"
                    wait = retry_after_seconds(resp.headers.get("Retry-After"))
                    if wait is not None and wait > self.max_retry_after_s:
                        raise SourceRateLimited(
                            self.name,
                            f"asked us to wait {wait:.0f}s (Retry-After); run the ingest again after that",
                        )
                elif resp.status_code >= 500:
                    rate_limited = False
                    problem = f"answered {resp.status_code}"
                else:
                    raise SourceRequestError(
                        self.name,
                        f"GET {ref} answered {resp.status_code}: {resp.text[:200]!r}; check the "
                        "source's base URL and path, its credentials, and whether its cursor was reset",
                    )
            if attempt < self.retries:
                self.sleep(wait if wait is not None else self._backoff(attempt))
        cls = SourceRateLimited if rate_limited else SourceUnavailable
        raise cls(
            self.name,
            f"GET {ref} {problem}, {self.retries + 1} attempts; the department's system is "
            "down or overloaded. Nothing was lost (the cursor did not move): run the ingest again later, "
            "or raise FENGHUO_HTTP_RETRIES / FENGHUO_HTTP_TIMEOUT_S",
        )

    def _page(self, resp: httpx.Response, cursor: str | None, ref: str) -> Page:
        try:
            body = resp.json()
        except ValueError as exc:
            return Page([resp.text], cursor, ref, has_more=True, error=f"unparseable JSON page: {exc}")
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            return Page([resp.text], cursor, ref, has_more=True, error="page is not {items: [...]}")
        nxt = body.get("next_cursor")
        next_cursor = str(nxt) if nxt else cursor
        has_more = bool(body.get("has_more", nxt is not None and bool(body["items"])))
        return Page(list(body["items"]), next_cursor, ref, has_more=has_more)

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def __enter__(self) -> RestSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["RestSource", "SourceError", "retry_after_seconds"]
