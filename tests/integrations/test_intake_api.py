"""Push intake (POST /v1/intake/{source}): stored as pulled items are, idempotent, every refusal clear."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from integrations.intake_api import intake_router
from integrations.settings import Settings
from integrations.store.models import QuarantineRow, RecordRow

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
TOKEN = "push-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SETTINGS = Settings(source_secrets={"public-safety-push": TOKEN}, intake_max_bytes=20_000)


def item(n: int, **over: Any) -> dict[str, Any]:
    """An incident as 110 sends it (the source's own shape)."""
    return {"id": f"INC-{n}", "occurred_at": (NOW - timedelta(minutes=n)).isoformat(), "region_code": "510104001001",
            "category": "聚集", "injured": 0, "deaths": 0, "address": f"锦江区某街 {n} 号", "status": "open", **over}


@pytest.fixture
def client(engine: sa.Engine) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(intake_router(engine, SETTINGS, clock=lambda: NOW))
    with TestClient(app) as c:
        yield c


def _records(engine: sa.Engine) -> list[RecordRow]:
    with Session(engine) as s:
        return list(s.exec(select(RecordRow).where(RecordRow.source == "public-safety")).all())


def test_an_array_is_stored_and_a_resend_is_a_duplicate(client: TestClient, engine: sa.Engine) -> None:
    body = [item(1), item(2), item(3)]
    first = client.post("/v1/intake/public-safety", json=body, headers=AUTH)
    assert first.status_code == 202
    assert first.json() == {"accepted": 3, "duplicates": 0, "quarantined": 0, "complete_up_to": None}
    again = client.post("/v1/intake/public-safety", json=body, headers=AUTH)
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 3
    assert sorted(r.source_id for r in _records(engine)) == ["INC-1", "INC-2", "INC-3"]


def test_json_lines_with_a_bad_item_keep_the_good_ones(client: TestClient, engine: sa.Engine) -> None:
    lines = "\n".join(json.dumps(i, ensure_ascii=False) for i in
                      [item(1), item(2, injured="很多", id_card="510104199001011234"), item(3)])
    r = client.post("/v1/intake/public-safety", content=lines.encode(), headers=AUTH)
    assert r.status_code == 202 and r.json()["accepted"] == 2 and r.json()["quarantined"] == 1
    with Session(engine) as s:
        kept = s.exec(select(QuarantineRow).where(QuarantineRow.source == "public-safety")).one()
    assert kept.source_id == "INC-2" and "510104199001011234" not in kept.raw


def test_the_envelope_carries_the_heartbeat_and_a_bare_heartbeat_is_allowed(client: TestClient) -> None:
    upto = (NOW - timedelta(minutes=1)).isoformat()
    r = client.post("/v1/intake/public-safety", json={"items": [item(5)], "complete_up_to": upto}, headers=AUTH)
    assert r.status_code == 202 and r.json()["complete_up_to"] == upto
    bare = client.post("/v1/intake/public-safety", params={"complete_up_to": NOW.isoformat()}, headers=AUTH)
    assert bare.status_code == 202 and bare.json()["accepted"] == 0
    back = client.post("/v1/intake/public-safety", json={"complete_up_to": upto}, headers=AUTH)
    assert back.status_code == 422 and back.json()["error"] == "bad_heartbeat"
    future = client.post("/v1/intake/public-safety", json={"items": [item(6)],
                         "complete_up_to": (NOW + timedelta(days=1)).isoformat()}, headers=AUTH)
    assert future.status_code == 422
    naive = client.post("/v1/intake/public-safety", params={"complete_up_to": "2026-12-05T08:00:00"}, headers=AUTH)
    assert naive.status_code == 422 and "时区" in naive.json()["message"]


def test_a_refused_heartbeat_stores_nothing(client: TestClient, engine: sa.Engine) -> None:
    future = (NOW + timedelta(days=1)).isoformat()
    r = client.post("/v1/intake/public-safety", json={"items": [item(7)], "complete_up_to": future}, headers=AUTH)
    assert r.status_code == 422 and _records(engine) == []


@pytest.mark.parametrize(("headers", "path", "status", "code"), [
    ({}, "/v1/intake/public-safety", 401, "no_token"),
    ({"Authorization": "Basic abc"}, "/v1/intake/public-safety", 401, "no_token"),
    ({"Authorization": "Bearer wrong"}, "/v1/intake/public-safety", 403, "bad_token"),
    (AUTH, "/v1/intake/xinfang", 403, "push_not_enabled"),
    (AUTH, "/v1/intake/no-such-source", 404, "unknown_source"),
])
def test_who_may_push(client: TestClient, engine: sa.Engine, headers: dict[str, str], path: str, status: int,
                      code: str) -> None:
    r = client.post(path, json=[item(1)], headers=headers)
    assert (r.status_code, r.json()["error"]) == (status, code)
    assert r.json()["message"]  # says what to do next
    assert _records(engine) == []
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


def test_malformed_and_oversized_bodies_store_nothing(client: TestClient, engine: sa.Engine) -> None:
    bad = client.post("/v1/intake/public-safety", content=b'{"id": "A"}\n{"id": ', headers=AUTH)
    assert bad.status_code == 400 and "第 2 行" in bad.json()["message"]
    big = client.post("/v1/intake/public-safety", json=[item(n) for n in range(200)], headers=AUTH)
    assert big.status_code == 413
    assert client.post("/v1/intake/public-safety", content=b"", headers=AUTH).status_code == 400
    assert client.post("/v1/intake/public-safety", content=b"\xff\xfe", headers=AUTH).status_code == 400
    assert _records(engine) == []


def test_an_unconfigured_token_is_a_server_problem(engine: sa.Engine) -> None:
    app = FastAPI()
    app.include_router(intake_router(engine, Settings(), clock=lambda: NOW))
    r = TestClient(app).post("/v1/intake/public-safety", json=[item(1)], headers=AUTH)
    assert r.status_code == 503 and "public-safety-push" in r.json()["message"]


def test_backpressure_answers_429_with_retry_after(sqlite_engine: sa.Engine) -> None:
    # One push in flight at most: while the first is held inside the store, a second is turned away.
    import integrations.records_io as records_io

    settings = Settings(source_secrets={"public-safety-push": TOKEN}, intake_max_in_flight=1)
    app = FastAPI()
    app.include_router(intake_router(sqlite_engine, settings, clock=lambda: NOW))
    real = records_io.import_items
    started, release = asyncio.Event(), asyncio.Event()

    async def scenario() -> tuple[int, httpx.Response]:
        loop = asyncio.get_running_loop()

        def slow(*args: Any, **kw: Any) -> Any:
            loop.call_soon_threadsafe(started.set)
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=10)
            return real(*args, **kw)

        records_io.import_items = slow
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
                first = asyncio.create_task(c.post("/v1/intake/public-safety", json=[item(1)], headers=AUTH))
                await asyncio.wait_for(started.wait(), 10)
                second = await c.post("/v1/intake/public-safety", json=[item(2)], headers=AUTH)
                release.set()
                return (await first).status_code, second
        finally:
            records_io.import_items = real

    first_status, second = asyncio.run(scenario())
    assert first_status == 202
    assert second.status_code == 429 and second.headers["retry-after"] == "1"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def roomy(engine: sa.Engine) -> Iterator[TestClient]:
    """A client whose bodies may reach 1 MB, and which answers a server error as a 500 (not an exception)."""
    app = FastAPI()
    app.include_router(intake_router(engine, Settings(source_secrets={"public-safety-push": TOKEN},
                                                      intake_max_bytes=1_000_000), clock=lambda: NOW))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_a_body_nested_past_the_parser_is_400_too_deep(roomy: TestClient, engine: sa.Engine) -> None:
    # Before the fix: json.loads raised RecursionError and the push got a 500.
    for body in (b"[" * 100_000, ("[" + _nested(50_000) + "]").encode(), ("[\n" * 5_000).encode()):
        r = roomy.post("/v1/intake/public-safety", content=body, headers=AUTH)
        assert (r.status_code, r.json()["error"]) == (400, "too_deep")
        assert r.json()["message"].startswith("请求体嵌套过深")
    assert _records(engine) == []


def test_an_item_nested_too_deep_is_quarantined_and_the_page_stored(roomy: TestClient, engine: sa.Engine) -> None:
    plain = roomy
    deep = json.dumps(item(2))[:-1] + ', "address": ' + _nested(900) + "}"  # parses, past the masking's stack
    array = "[" + json.dumps(item(1)) + "," + deep + "]"
    r = plain.post("/v1/intake/public-safety", content=array.encode(), headers=AUTH)
    assert r.status_code == 202 and (r.json()["accepted"], r.json()["quarantined"]) == (1, 1)
    lines = "\n".join([json.dumps(item(3)), "[" * 100_000, json.dumps(item(4))])  # one line past json's stack
    r = plain.post("/v1/intake/public-safety", content=lines.encode(), headers=AUTH)
    assert r.status_code == 202 and (r.json()["accepted"], r.json()["quarantined"]) == (2, 1)
    assert sorted(r.source_id for r in _records(engine)) == ["INC-1", "INC-3", "INC-4"]
    with Session(engine) as s:
        kept = s.exec(select(QuarantineRow).where(QuarantineRow.source == "public-safety")).all()
    assert [q.reason.split(":")[0] for q in kept] == ["too_deep", "too_deep"]
    by_id = {q.source_id: q.raw for q in kept}
    assert set(by_id) == {"INC-2", None} and len(by_id["INC-2"]) < 5_000  # the deep part cut (domain.nesting)


def test_first_pushes_of_a_source_at_once_are_all_accepted(engine: sa.Engine) -> None:
    # Concurrent first pushes raced on the source_watermark insert: one got a 500 (IntegrityError).
    import threading

    app = FastAPI()
    app.include_router(intake_router(engine, SETTINGS, clock=lambda: NOW))
    gate, statuses = threading.Barrier(4), []

    def push(n: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as c:
            gate.wait()
            statuses.append(c.post("/v1/intake/public-safety", json=[item(n)], headers=AUTH).status_code)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [202] * 4 and len(_records(engine)) == 4


def test_a_refused_heartbeat_is_echoed_short(roomy: TestClient) -> None:
    r = roomy.post("/v1/intake/public-safety", json={"complete_up_to": "x" * 100_000}, headers=AUTH)
    assert r.status_code == 422 and len(r.json()["message"]) < 200 and "时区" in r.json()["message"]


def test_a_line_that_is_not_json_is_named_with_the_reason_in_chinese(client: TestClient, engine: sa.Engine) -> None:
    lines = json.dumps(item(1), ensure_ascii=False) + "\n" + '{"id": "INC-2" "status": "open"}'
    r = client.post("/v1/intake/public-safety", content=lines.encode(), headers=AUTH)
    assert (r.status_code, r.json()["error"]) == (400, "bad_json")
    said = r.json()["message"]
    assert said.startswith("第 2 行不是合法的 JSON：缺少逗号；") and "Expecting" not in said
    assert _records(engine) == []
