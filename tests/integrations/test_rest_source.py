"""RestSource: paging, retries with backoff, Retry-After, error translation (httpx.MockTransport)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import httpx
import pytest

from integrations.sources import (
    DEPARTMENTS,
    RestSource,
    SourceError,
    SourceRateLimited,
    SourceRequestError,
    SourceUnavailable,
)
from integrations.sources.rest import retry_after_seconds

CFG = DEPARTMENTS[0]


def make(handler: Callable[[httpx.Request], httpx.Response], retries: int = 3) -> tuple[RestSource, list[float]]:
    sleeps: list[float] = []
    src = RestSource(
        CFG,
        base_url="http://dept.test",
        retries=retries,
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        rng=random.Random(0),
    )
    return src, sleeps


def ok(items: list[dict[str, object]], nxt: str | None = "c1", more: bool = False) -> httpx.Response:
    return httpx.Response(200, json={"items": items, "next_cursor": nxt, "has_more": more})


def test_page_and_cursor_are_passed_through() -> None:
    seen: list[httpx.URL] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req.url)
        return ok([{"id": "a"}], "c2", more=True)

    src, _ = make(handler)
    with src:
        page = src.fetch("c1", limit=7)
    assert page.items == [{"id": "a"}] and page.next_cursor == "c2" and page.has_more
    assert seen[0].path == "/api/petition" and seen[0].params["cursor"] == "c1" and seen[0].params["limit"] == "7"


def test_5xx_and_connect_errors_are_retried_with_growing_backoff() -> None:
    calls = iter([httpx.Response(500), "connect", httpx.Response(503), ok([])])

    def handler(req: httpx.Request) -> httpx.Response:
        nxt = next(calls)
        if nxt == "connect":
            raise httpx.ConnectError("refused", request=req)
        assert isinstance(nxt, httpx.Response)
        return nxt

    src, sleeps = make(handler)
    with src:
        assert src.fetch(None, limit=10).items == []
    assert len(sleeps) == 3
    assert all(0 <= s <= 0.5 * 2**i for i, s in enumerate(sleeps))


def test_429_honours_retry_after() -> None:
    calls = iter([httpx.Response(429, headers={"Retry-After": "2"}), ok([{"id": "x"}])])
    src, sleeps = make(lambda req: next(calls))
    with src:
        assert src.fetch(None, limit=10).items == [{"id": "x"}]
    assert sleeps == [2.0]


def test_exhausted_retries_become_source_errors_saying_what_to_do() -> None:
    src, sleeps = make(lambda req: httpx.Response(500), retries=2)
    with src, pytest.raises(SourceUnavailable) as info:
        src.fetch(None, limit=10)
    assert len(sleeps) == 2 and "请稍后重新运行接入" in str(info.value)
    src, _ = make(lambda req: httpx.Response(429, headers={"Retry-After": "0"}), retries=1)
    with src, pytest.raises(SourceRateLimited):
        src.fetch(None, limit=10)
    src, _ = make(lambda req: httpx.Response(429, headers={"Retry-After": "3600"}))
    with src, pytest.raises(SourceRateLimited, match="要求等待 3600 秒"):
        src.fetch(None, limit=10)


def test_timeouts_become_source_unavailable_not_httpx_errors() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=req)

    src, _ = make(handler, retries=1)
    with src, pytest.raises(SourceError) as info:
        src.fetch(None, limit=10)
    assert isinstance(info.value, SourceUnavailable) and not isinstance(info.value, httpx.HTTPError)


def test_4xx_is_not_retried() -> None:
    src, sleeps = make(lambda req: httpx.Response(400, json={"error": "bad cursor"}))
    with src, pytest.raises(SourceRequestError, match="cursor"):
        src.fetch("zzz", limit=10)
    assert sleeps == []


def test_truncated_body_is_an_unreadable_page_at_the_same_cursor() -> None:
    body = json.dumps({"items": [{"id": "a"}], "next_cursor": "c9"})
    src, _ = make(lambda req: httpx.Response(200, content=body[: len(body) // 2].encode()))
    with src:
        page = src.fetch("c1", limit=10)
    assert page.error and "无法解析的 JSON 页" in page.error
    assert page.next_cursor == "c1" and page.has_more and page.items == [body[: len(body) // 2]]


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_an_invalid_base_url_is_a_request_error() -> None:
    with pytest.raises(SourceRequestError, match="无效的基础地址"):
        RestSource(CFG, base_url="http://example.test:notaport")


@pytest.mark.parametrize(
    "body",
    [
        '{"items": [{"id": "A", "n": 3, "x": 0.1, "s": "征地\\u2028\\"", "big": 123456789012345678901234567890}]}',
        '{"items": [{"id": "A", "n": 18446744073709551616, "m": -9223372036854775809}], "has_more": false}',
        '{"items": [{"id": "A", "x": NaN, "y": Infinity, "z": 1e400}]}',
        '{"items": [{"id": "A", "s": "\\ud800"}], "next_cursor": "c9"}',
    ],
)
def test_pages_parse_exactly_as_the_standard_json_module(body: str) -> None:
    # orjson is tried first for speed; wherever it would differ (integers beyond 64 bits become floats,
    # NaN and lone surrogates are refused) the page must still read as json.loads reads it.
    src, _ = make(lambda req: httpx.Response(200, content=body.encode("utf-8")))
    page = src.fetch(None, limit=10)
    expected = json.loads(body)["items"]
    assert page.error is None and repr(page.items) == repr(expected)
    assert [type(v) for v in page.items[0].values()] == [type(v) for v in expected[0].values()]


def test_a_page_nested_past_the_parser_is_handed_on_whole_with_an_error() -> None:
    # orjson stops at 1,024 levels, then httpx's json recursed: RecursionError out of the source.
    body = b"[" * 100_000

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    src, _ = make(handler)
    with src:
        page = src.fetch(None, limit=10)
    assert page.error == "JSON 页嵌套过深，无法解析" and page.items == [body.decode()]


def test_a_source_error_speaks_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.i18n import explain
    from integrations.settings import get_settings

    src, _ = make(lambda req: httpx.Response(500), retries=0)
    with src, pytest.raises(SourceUnavailable) as info:
        src.fetch(None, limit=10)
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    said = explain(info.value)
    assert said.startswith("xinfang: GET /api/petition?limit=10 answered 500, 1 attempts;"), said
    assert "run the ingest again later" in said and "部门" not in said
