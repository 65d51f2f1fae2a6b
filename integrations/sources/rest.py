"""A departmental REST source over httpx: paginated JSON, authenticated, retried with care.

Pagination styles (:class:`~integrations.sources.schema.PaginationModel`), and what the stored cursor is:
``cursor`` (the simulator's: ``?cursor=…&limit=N`` → ``{"items": [...], "next_cursor": ..., "has_more":
...}``; the token), ``page`` (``?page=P&limit=N``; the number of items consumed, so a changed page size
still resumes right), ``offset`` (``?offset=O&limit=N``; the offset) and ``link`` (RFC 8288 ``Link:
<…>; rel="next"``; the next URL, or the last page's URL once there is no next, so new items are seen)
and ``since`` (``?since=V&limit=N``; V the largest ``cursor_field`` value seen, e.g. ``updated_at``).
One :class:`httpx.Client` per source, reused for every page. Connect errors, timeouts, 5xx and 429 are
retried with exponential backoff and full jitter (429 waits what ``Retry-After`` says); anything else
and exhausted retries become a :class:`~integrations.sources.base.SourceError`. A 200 whose body is
not a JSON page is returned as an unreadable :class:`Page` (the ingest quarantines it and asks again).
"""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import Callable
from contextlib import suppress
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

import httpx
import orjson

from domain.messages import N_, Message, message_of
from integrations.settings import Settings
from integrations.sources.auth import AuthError
from integrations.sources.base import (
    ConfiguredSource,
    Page,
    SourceError,
    SourceRateLimited,
    SourceRequestError,
    SourceUnavailable,
)
from integrations.sources.mapping import SourceConfig
from integrations.sources.schema import PaginationModel


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


_UNPARSED = object()
# Digits to 0, every other byte to 1: a run of 19 digits is then a find() of 19 zero bytes, which costs
# a twentieth of the regular expression \d{19} on a page full of ids, codes and times.
_DIGITS_TO_ZERO = bytes(0 if chr(b).isdigit() and b < 128 else 1 for b in range(256))
_LONG_DIGITS = b"\0" * 19


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~20 ms; one context serves every source's client (it is thread-safe).
    return httpx.create_ssl_context()


class RestSource(ConfiguredSource):
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
        auth: httpx.Auth | None = None,
        pagination: PaginationModel | None = None,
    ) -> None:
        self._config = config
        self.pagination = pagination or PaginationModel()
        self.retries = retries
        self.sleep = sleep
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self._rng = rng or random.Random()
        # Connecting should be quick on a LAN; reading a large page may take the whole budget.
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        try:
            self._client = httpx.Client(
                base_url=base_url,
                timeout=timeout,
                transport=transport,
                auth=auth,
                verify=_tls_context(),
                headers={"User-Agent": "fenghuo-ingest"},
                # One client per source, reused: a few keep-alive connections are all one source needs.
                limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
            )
        except (httpx.InvalidURL, ValueError) as exc:
            raise SourceRequestError(
                config.name, Message(N_("无效的基础地址 {url}：{reason}；请修改该数据源的设置"), url=repr(base_url),
                                     reason=str(exc))
            ) from exc

    @classmethod
    def from_settings(cls, config: SourceConfig, settings: Settings, **kw: Any) -> RestSource:
        """A source with the base URL, timeout and retries of ``settings``."""
        kw.setdefault("base_url", settings.simulator_url)
        kw.setdefault("timeout_s", settings.http_timeout_s)
        kw.setdefault("retries", settings.http_retries)
        return cls(config, **kw)

    def _backoff(self, attempt: int) -> float:
        return self._rng.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2**attempt))

    def _request(self, cursor: str | None, limit: int) -> tuple[str, dict[str, str | int], int]:
        """(URL or path, query parameters, items to skip at the start of the page) for ``cursor``."""
        p, path = self.pagination, self._config.path
        params: dict[str, str | int] = {p.limit_param: limit}
        if p.style == "cursor":
            if cursor:
                params[p.cursor_param] = cursor
            return path, params, 0
        if p.style == "link":
            return (cursor, {}, 0) if cursor else (path, params, 0)
        if p.style == "since":
            if cursor:
                params[p.since_param] = cursor
            return path, params, 0
        done = int(cursor or 0)
        if p.style == "offset":
            params[p.offset_param] = done
            return path, params, 0
        params[p.page_param] = done // limit + p.first_page
        return path, params, done % limit

    def fetch(self, cursor: str | None, *, limit: int) -> Page:
        """The page after ``cursor``; retried as the module docstring says. Raises only SourceError."""
        try:
            url, params, skip = self._request(cursor, limit)
        except ValueError:
            raise SourceRequestError(self.name, Message(N_("存储的游标 {cursor} 不是数字；请重置"),
                                                        cursor=repr(cursor))) from None
        query = "&".join(f"{k}={v}" for k, v in params.items())
        ref = f"{url}?{query}" if query else url
        problem = Message(N_("未尝试请求"))
        rate_limited = False
        for attempt in range(self.retries + 1):
            wait: float | None = None
            try:
                # Empty params would replace the query string of a Link-header URL: pass none then.
                resp = self._client.get(url, params=params or None)
            except AuthError as exc:
                raise SourceRequestError(self.name, Message(N_("认证失败：{reason}"),
                                                            reason=message_of(exc) or str(exc))) from None
            except httpx.TimeoutException as exc:
                problem = Message(N_("超时（{error}）"), error=type(exc).__name__)
            except httpx.RequestError as exc:  # connect/read/protocol errors, a body that would not decode
                problem = Message(N_("无法连接或读取（{error}）"), error=f"{type(exc).__name__}: {exc}")
            except httpx.HTTPError as exc:  # anything else httpx raises (e.g. an invalid URL): not a blip
                raise SourceRequestError(self.name, Message(N_("GET {ref} 失败：{reason}；请检查该数据源的基础地址"),
                                                            ref=ref, reason=str(exc))) from exc
            else:
                if resp.status_code == 200:
                    return self._page(resp, cursor, ref, limit, skip)
                if resp.status_code == 429:
                    rate_limited = True
                    problem = Message(N_("答复 429 Too Many Requests（请求过多）"))
                    wait = retry_after_seconds(resp.headers.get("Retry-After"))
                    if wait is not None and wait > self.max_retry_after_s:
                        raise SourceRateLimited(
                            self.name,
                            Message(N_("要求等待 {seconds} 秒（Retry-After）；请在此之后重新运行接入"),
                                    seconds=f"{wait:.0f}"),
                        )
                elif resp.status_code >= 500:
                    rate_limited = False
                    problem = Message(N_("答复 {status}"), status=resp.status_code)
                else:
                    raise SourceRequestError(
                        self.name,
                        Message(N_("GET {ref} 答复 {status}：{body}；请检查该数据源的基础地址和路径、凭据，"
                                   "以及其游标是否被重置"),
                                ref=ref, status=resp.status_code, body=repr(resp.text[:200])),
                    )
            if attempt < self.retries:
                self.sleep(wait if wait is not None else self._backoff(attempt))
        cls = SourceRateLimited if rate_limited else SourceUnavailable
        raise cls(
            self.name,
            Message(N_("GET {ref} {problem}，共尝试 {attempts} 次；部门系统宕机或过载。没有丢失任何数据（游标未移动）："
                       "请稍后重新运行接入，或调大 FENGHUO_HTTP_RETRIES / FENGHUO_HTTP_TIMEOUT_S"),
                    ref=ref, problem=problem, attempts=self.retries + 1),
        )

    def _page(self, resp: httpx.Response, cursor: str | None, ref: str, limit: int, skip: int) -> Page:
        p = self.pagination
        # orjson parses a page several times faster. Anything it refuses (a body not in UTF-8, NaN, a cut
        # page) goes to httpx's own parser, whose result and message stand; so does a page with a run of
        # 19+ digits, which might be an integer beyond 64 bits (orjson would make it a float).
        body: Any = _UNPARSED
        if resp.content.translate(_DIGITS_TO_ZERO).find(_LONG_DIGITS) < 0:
            with suppress(orjson.JSONDecodeError):
                body = orjson.loads(resp.content)
        try:
            if body is _UNPARSED:
                body = resp.json()
        except ValueError as exc:
            return Page([resp.text], cursor, ref, has_more=True,
                        error=Message(N_("无法解析的 JSON 页：{reason}"), reason=str(exc)))
        except RecursionError:  # nested past what json parses (orjson stops at 1,024 levels, then json recurses)
            return Page([resp.text], cursor, ref, has_more=True, error=Message(N_("JSON 页嵌套过深，无法解析")))
        items = body if p.items_field == "" else body.get(p.items_field) if isinstance(body, dict) else None
        if not isinstance(items, list):
            shape = Message(N_("JSON 列表")) if p.items_field == "" else f"{{{p.items_field}: [...]}}"
            return Page([resp.text], cursor, ref, has_more=True, error=Message(N_("页面不是{shape}"), shape=shape))
        if p.style == "cursor":
            nxt = body.get(p.next_field) if isinstance(body, dict) else None
            next_cursor = str(nxt) if nxt else cursor
            more = body.get(p.has_more_field, nxt is not None and bool(items)) if isinstance(body, dict) else False
            return Page(list(items), next_cursor, ref, has_more=bool(more))
        if p.style == "link":
            nxt = resp.links.get("next", {}).get("url")
            # No next link: keep the last page's URL, so the next run sees what is appended to it.
            here = str(resp.request.url)
            return Page(list(items), str(resp.url.join(nxt)) if nxt else here, ref, has_more=bool(nxt))
        if p.style == "since":
            marks = [i[p.cursor_field] for i in items if isinstance(i, dict) and i.get(p.cursor_field) is not None]
            try:
                top = max(marks, default=None)
            except TypeError:  # mixed types: the department's cursor field is unusable as sent
                top = None
            nxt = str(top) if top is not None else cursor  # the department sends only values >= since
            return Page(list(items), nxt, ref, has_more=len(items) >= limit)
        done = int(cursor or 0)
        fresh = list(items)[skip:]
        return Page(fresh, str(done + len(fresh)), ref, has_more=len(items) >= limit and bool(fresh))

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def __enter__(self) -> RestSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["RestSource", "SourceError", "retry_after_seconds"]
