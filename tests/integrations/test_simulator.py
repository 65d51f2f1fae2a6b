"""The departmental-systems simulator: determinism, pagination, live data, regions, faults."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from domain.regions import RegionDirectory, tier_of
from integrations.simulator import Faults, generate, start_simulator
from integrations.simulator.feed import item_id

pytestmark = pytest.mark.integration


def pages(client: httpx.Client, kind: str, limit: int, cursor: str | None = None) -> tuple[list[dict], str | None]:
    items: list[dict] = []
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        body = client.get(f"/api/{kind}", params=params).json()
        items += body["items"]
        cursor = body["next_cursor"] or cursor
        if not body["has_more"]:
            return items, cursor


def test_generation_is_deterministic_for_a_seed() -> None:
    a = [(e.kind, e.item) for e in generate(seed=7, days=5).entries()]
    b = [(e.kind, e.item) for e in generate(seed=7, days=5).entries()]
    c = [(e.kind, e.item) for e in generate(seed=8, days=5).entries()]
    assert a == b and a != c


def test_month_volume_and_planted_scenarios() -> None:
    gen = generate(seed=1)
    counts = Counter(e.kind for e in gen.entries())
    assert 5_000 <= sum(counts.values()) <= 20_000
    assert set(counts) == {
        "petition",
        "dispute",
        "hotline",
        "incident",
        "opinion",
        "care_visit_due",
        "care_visit",
    }
    petitions = [e.item for e in gen.entries() if e.kind == "petition"]
    assert {5, 60, 320} <= {p["people"] for p in petitions}
    assert max(Counter(p["id_card"] for p in petitions).values()) >= 5
    wage = [
        e.item
        for e in gen.entries()
        if e.kind == "dispute" and e.item["dispute_type"] == "wage_arrears" and e.item["occurred_at"] >= "2026-01-17"
    ]
    assert Counter(w["region_code"][:6] for w in wage).most_common(1)[0][0] == "510114"
    assert max(w["amount"] for w in wage) > 1_000_000
    incidents = [e.item for e in gen.entries() if e.kind == "incident"]
    assert max(i["deaths"] for i in incidents) >= 10


def test_starts_fast_pages_and_continues_from_a_cursor() -> None:
    t = time.perf_counter()
    with start_simulator(seed=3, days=4) as sim:
        assert time.perf_counter() - t < 1.0
        with httpx.Client(base_url=sim.url) as client:
            all_items, cursor = pages(client, "hotline", 100)
            assert len(all_items) == sim.feed.count("hotline")
            assert len({i["ticket_id"] for i in all_items}) == len(all_items)
            again, _ = pages(client, "hotline", 100, cursor)
            assert again == []
            added = sim.append_days(1)
            assert added > 0
            new, _ = pages(client, "hotline", 100, cursor)
            assert new and {i["ticket_id"] for i in new}.isdisjoint(i["ticket_id"] for i in all_items)
            first = all_items[0]
            sim.update("hotline", item_id("hotline", first), status="closed")
            changed, _ = pages(client, "hotline", 100, cursor)
            assert changed[-1]["ticket_id"] == first["ticket_id"] and changed[-1]["status"] == "closed"
            assert client.get("/api/nope").status_code == 404
            assert client.get("/api/hotline", params={"cursor": "garbage!"}).status_code == 400


def test_regions_endpoint_is_a_directory_with_real_districts() -> None:
    with start_simulator(seed=3, days=1) as sim, httpx.Client(base_url=sim.url) as client:
        names = client.get("/regions").json()
    directory = RegionDirectory.from_mapping(names)
    assert directory.name("510100000000") == "成都市"
    assert directory.name("510107000000") == "武侯区"
    assert len(list(directory.children("510104000000"))) == 4
    assert {tier_of(c).value for c in names} == {"city", "district", "street", "community", "grid"}


def test_faults_500_429_truncation_and_duplicates() -> None:
    faults = Faults(
        down_for_requests=1,
        fail_rate=0.3,
        rate_limit_rate=0.3,
        retry_after_s=7,
        truncate_rate=0.3,
        duplicate_rate=0.5,
        seed=1,
    )
    with start_simulator(seed=3, days=1, faults=faults) as sim, httpx.Client(base_url=sim.url) as client:
        seen = Counter()
        for _ in range(40):
            r = client.get("/api/hotline", params={"limit": 20})
            if r.status_code == 200:
                try:
                    body = r.json()
                except ValueError:
                    seen["truncated"] += 1
                    continue
                ids = [i["ticket_id"] for i in body["items"]]
                seen["dup"] += len(ids) - len(set(ids))
            else:
                seen[r.status_code] += 1
                if r.status_code == 429:
                    assert r.headers["Retry-After"] == "7"
        assert seen[503] == 1 and seen[500] and seen[429] and seen["truncated"] and seen["dup"]
        sim.faults = Faults(rename_fields={"call_time": "occur_time"}, out_of_order=True)
        item = client.get("/api/hotline", params={"limit": 5}).json()["items"][0]
        assert "occur_time" in item and "call_time" not in item
