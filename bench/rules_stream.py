"""The seeded synthetic megacity stream the rules, year, latency and rule-edit benches feed.

About ``per_day`` records a day across 2,880 communities of twelve districts: hotline calls mostly, then
petitions (a few thousand people come back often), disputes, opinion volumes, incidents and care visits.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from domain.records import Record

CST = timezone(timedelta(hours=8))
START = datetime(2026, 1, 1, tzinfo=CST)
CHUNK = 20_000
CATEGORIES = [f"cat{i:02d}" for i in range(80)]
SUBJECTS = ["征地补偿", "拆迁安置", "欠薪", "物业纠纷", "医疗纠纷", "环境污染", "教育", "社保"]
KINDS = (["hotline"] * 60 + ["petition"] * 12 + ["dispute"] * 5 + ["opinion"] * 8 + ["incident"] * 5
         + ["care_visit_due"] * 5 + ["care_visit"] * 5)
CAT_WEIGHTS = [1 / (i + 1) ** 0.5 for i in range(len(CATEGORIES))]


def _communities(rng: random.Random) -> list[str]:
    return [f"5101{d:02d}{s:03d}{c:03d}" for d in range(4, 16) for s in range(1, 13) for c in range(1, 21)]


def _person(rng: random.Random) -> str:
    """Most people petition once in a long while; a few thousand come back often."""
    return f"f{rng.randrange(3_000)}" if rng.random() < 0.01 else f"p{rng.randrange(3_000_000)}"


def stream(n: int, seed: int = 7, per_day: int = 200_000, places: int | None = None) -> Iterator[list[Record]]:
    """``n`` records in chunks, in time order: about ``per_day`` records a day across the city (over
    ``places`` communities, else all)."""
    rng = random.Random(seed)
    places_list = _communities(rng)[:places] if places else _communities(rng)
    step = 86400.0 / per_day
    t = 0.0
    made = 0
    while made < n:
        chunk: list[Record] = []
        for _ in range(min(CHUNK, n - made)):
            made += 1
            t += rng.expovariate(1.0 / step)
            kind = rng.choice(KINDS)
            a: dict[str, Any] = {}
            if kind == "hotline":
                a = {"person": f"h{rng.randrange(2_000_000)}", "status": "open",
                     "category": rng.choices(CATEGORIES, CAT_WEIGHTS)[0]}
            elif kind == "petition":
                people = 1 if rng.random() < 0.95 else rng.choice([1, 2, 3, 4] * 50 + [5, 8, 60, 350])
                a = {"person": _person(rng), "people": people, "subject": rng.choice(SUBJECTS),
                     "channel": rng.choice(["visit", "letter", "phone", "online"])}
            elif kind == "dispute":
                a = {"person": _person(rng), "type": rng.choice(["land", "neighbour"] * 5 + ["wage_arrears"]),
                     "amount": round(rng.lognormvariate(7, 1), 2),
                     "status": rng.choice(["open", "mediating", "resolved"])}
            elif kind == "opinion":
                a = {"topic": f"t{rng.randrange(300)}", "platform": "weibo", "volume": rng.randrange(1, 400),
                     "sentiment": round(rng.uniform(-1, 1), 2)}
            elif kind == "incident":
                a = {"category": "traffic", "injured": rng.choice([0] * 60 + [1, 2, 4]), "address": "某路",
                     "deaths": 0 if rng.random() < 0.998 else 1}
            else:
                a = {"person": f"c{rng.randrange(5_000)}", "program": "elderly"}
            chunk.append(Record(kind=kind, source="sim", id=str(made), at=START + timedelta(seconds=t),
                                region=rng.choice(places_list), attributes=a))
        yield chunk
