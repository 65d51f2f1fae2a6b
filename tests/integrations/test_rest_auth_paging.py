"""RestSource: every auth mode and pagination style, over httpx.MockTransport."""

from __future__ import annotations

import json

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from domain.kinds import RecordKinds
from integrations.ingest.run import ingest_source
from integrations.settings import Settings
from integrations.sources import DEPARTMENTS, RestSource, SourceRequestError
from integrations.sources.config import SourceSpec
from integrations.sources.factory import build_source
from integrations.sources.schema import AuthModel, PaginationModel
from integrations.store.db import session_scope
from integrations.store.models import CursorRow, RecordRow

HOTLINE = next(c for c in DEPARTMENTS if c.kind == "hotline")
ITEMS = [
    {"ticket_id": f"T{i}", "call_time": f"2026-01-05T{i % 24:02d}:00:00+08:00", "region_code": "510104001001",
     "category": "noise"}
    for i in range(23)
]


def spec(auth: AuthModel | None = None, pagination: PaginationModel | None = None) -> SourceSpec:
    return SourceSpec(HOTLINE, "rest", "http://dept.test", auth or AuthModel(), pagination or PaginationModel())


def settings(**secrets: str) -> Settings:
    return Settings(source_secrets={k: SecretStr(v) for k, v in secrets.items()})


def ok(body: object, **headers: str) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(body).encode(), headers=headers)


@pytest.mark.parametrize(("auth", "header", "value"), [
    (AuthModel(type="api_key", header="X-Token", secret="k"), "X-Token", "s3cret"),
    (AuthModel(type="bearer", secret="k"), "Authorization", "Bearer s3cret"),
])
def test_api_key_and_bearer_send_the_named_secret(auth: AuthModel, header: str, value: str) -> None:
    seen: list[str | None] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req.headers.get(header))
        return ok({"items": [], "next_cursor": None, "has_more": False})

    with build_source(spec(auth), settings(k="s3cret"), transport=httpx.MockTransport(handler)) as src:  # type: ignore[attr-defined]
        src.fetch(None, limit=10)
    assert seen == [value]


def test_a_missing_secret_is_a_request_error_naming_it() -> None:
    with pytest.raises(SourceRequestError, match=r"密钥 'k' 未设置.*FENGHUO_SOURCE_SECRETS"):
        build_source(spec(AuthModel(type="bearer", secret="k")), settings())


def test_oauth2_client_credentials_caches_the_token_and_renews_on_401() -> None:
    tokens: list[dict[str, str]] = []
    api: list[str | None] = []

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path == "/token":
            form = dict(x.split("=") for x in req.content.decode().split("&"))
            tokens.append(form)
            return ok({"access_token": f"tok{len(tokens)}", "expires_in": 3600})
        api.append(req.headers.get("Authorization"))
        if len(api) == 3:  # the department rotated its tokens early
            return httpx.Response(401)
        return ok({"items": [], "next_cursor": None, "has_more": False})

    auth = AuthModel(type="oauth2", secret="cs", token_url="http://idp.test/token", client_id="fenghuo", scope="read")
    with build_source(spec(auth), settings(cs="client-secret"), transport=httpx.MockTransport(handler)) as src:  # type: ignore[attr-defined]
        for _ in range(3):
            src.fetch(None, limit=10)
    assert api == ["Bearer tok1", "Bearer tok1", "Bearer tok1", "Bearer tok2"]
    assert tokens[0] == {"grant_type": "client_credentials", "client_id": "fenghuo", "client_secret": "client-secret",
                         "scope": "read"}


def test_oauth2_refused_credentials_are_a_request_error() -> None:
    auth = AuthModel(type="oauth2", secret="cs", token_url="http://idp.test/token", client_id="x")
    transport = httpx.MockTransport(lambda req: httpx.Response(401, json={"error": "invalid_client"}))
    with build_source(spec(auth), settings(cs="bad"), transport=transport) as src, pytest.raises(  # type: ignore[attr-defined]
        SourceRequestError, match=r"认证失败.*答复 401"
    ):
        src.fetch(None, limit=10)


def paged(style: str) -> httpx.MockTransport:
    def handler(req: httpx.Request) -> httpx.Response:
        q = req.url.params
        limit = int(q["per_page"]) if "per_page" in q else int(q.get("limit", 10))
        if style == "page":
            start = (int(q["p"]) - 1) * limit
            return ok({"data": ITEMS[start : start + limit]})
        if style == "offset":
            return ok(ITEMS[int(q["offset"]) : int(q["offset"]) + limit])
        if style == "since":
            # Inclusive, as the pagination docs require: updated_at >= since, oldest first.
            since = q.get("since", "")
            return ok({"items": [i for i in ITEMS if i["call_time"] >= since][:limit]})
        start = int(q.get("from", 0))
        nxt = start + limit
        headers = {"Link": f'</api/hotline?from={nxt}&limit={limit}>; rel="next"'} if nxt < len(ITEMS) else {}
        return ok({"items": ITEMS[start:nxt]}, **headers)

    return httpx.MockTransport(handler)


STYLES = {
    "page": PaginationModel(style="page", page_param="p", limit_param="per_page", items_field="data"),
    "offset": PaginationModel(style="offset", items_field=""),
    "link": PaginationModel(style="link"),
    "since": PaginationModel(style="since", cursor_field="call_time"),
}


@pytest.mark.parametrize("style", sorted(STYLES))
def test_each_pagination_style_ingests_everything_once_and_resumes(
    style: str, sqlite_engine: sa.Engine, kinds: RecordKinds
) -> None:
    src = RestSource(HOTLINE, base_url="http://dept.test", transport=paged(style), pagination=STYLES[style])
    with src:
        first = ingest_source(sqlite_engine, src, kinds=kinds, key="k", page_size=10)
        again = ingest_source(sqlite_engine, src, kinds=kinds, key="k", page_size=7)
    assert first.inserted == len(ITEMS) and first.quarantined == 0
    assert again.inserted == 0
    with session_scope(sqlite_engine) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(RecordRow)).scalar_one() == len(ITEMS)
        cursor = s.get(CursorRow, HOTLINE.name)
    assert cursor is not None and cursor.cursor
    if style in ("page", "offset"):
        assert cursor.cursor == str(len(ITEMS))
    if style == "since":
        assert cursor.cursor == max(i["call_time"] for i in ITEMS)


def test_page_style_resumes_mid_page_when_the_page_size_changes() -> None:
    src = RestSource(HOTLINE, base_url="http://dept.test", transport=paged("page"), pagination=STYLES["page"])
    with src:
        page = src.fetch("13", limit=10)  # 13 consumed: page 2 of 10, skip its first 3
    assert [i["ticket_id"] for i in page.items] == [f"T{i}" for i in range(13, 20)]
    assert page.next_cursor == "20" and page.has_more
