"""A synthetic rulebook and a seeded stream for the sharding tests: several districts, person-keyed
sequences crossing districts, windows per community/street/district, absences, chained layers."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

from domain.records import Record

CST = timezone(timedelta(hours=8))

EXTRA_RULES = """
ruleset: shard-samples
rules:
  - id: street-hotline-burst
    record: hotline
    window: {within: 6h, by: [street], aggregate: count}
    levels:
      - {level: blue, when: {count: {gte: 6}}}
      - {level: yellow, when: {count: {gte: 9}}}

  - id: community-dispute-then-incident
    sequence:
      - {record: dispute}
      - {record: incident}
    join: [community]
    within: 12h
    level: yellow

  - id: care-missed-in-community
    absence:
      after: {record: care_visit_due}
      missing: {record: care_visit}
    join: [person, community]
    within: 6h
    level: blue

  - id: person-many-communities
    record: hotline
    window: {within: 2d, by: [person], aggregate: {distinct: community}}
    levels:
      - {level: yellow, when: {distinct: {gte: 3}}}

  - id: any-mass-petition
    record: petition
    where: {people: {gte: 20}}
    group_by: []
    level: orange

  - id: city-warning-wave
    record: warning
    where:
      rule: {not_in: [city-warning-wave, district-warning-then-petition, street-cluster, district-cluster]}
      level: {in: [yellow, orange, red]}
    window: {within: 1d, by: [city], aggregate: count}
    levels:
      - {level: orange, when: {count: {gte: 15}}}

  - id: district-warning-then-petition
    sequence:
      - {record: warning, where: {rule: {in: [city-warning-wave, street-cluster, wage-arrears-sum]}}}
      - {record: petition}
    join: [district]
    within: 1d
    level: blue
"""

EXTRA_PLAN = {
    "street-hotline-burst": ("district", 0),
    "community-dispute-then-incident": ("district", 0),
    "care-missed-in-community": ("district", 0),
    "person-many-communities": ("city", 0),
    "any-mass-petition": ("city", 0),
    "city-warning-wave": ("city", 1),
    "district-warning-then-petition": ("district", 3),
    "street-cluster": ("district", 2),
    "district-cluster": ("district", 3),
}

PLACES = [f"5101{d:02d}{s:03d}{c:03d}" for d in range(4, 10) for s in range(1, 4) for c in range(1, 5)]
CITY = "510100000000"


def synthetic_stream(seed: int, n: int = 6000, days: float = 8.0) -> list[Record]:
    """``n`` records over ``days``, at whole minutes (so ties and exact deadlines happen), shuffled."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, tzinfo=CST)
    people = [f"p{i}" for i in range(120)]
    out: list[Record] = []
    for i in range(n):
        at = start + timedelta(minutes=rng.randrange(int(days * 1440)))
        kind = rng.choice(["hotline"] * 6 + ["petition"] * 3 + ["dispute"] * 3 + ["incident"] * 2
                          + ["care_visit_due"] * 2 + ["care_visit"] + ["opinion"] * 2)
        region = CITY if rng.random() < 0.01 else rng.choice(PLACES)
        person = rng.choice(people)
        a: dict[str, Any] = {}
        if kind == "hotline":
            a = {"person": person, "category": rng.choice(["noise", "water", "wage"]), "status": "open"}
        elif kind == "petition":
            a = {"person": person, "people": rng.choice([1] * 30 + [5, 25, 60]), "subject": "s"}
        elif kind == "dispute":
            a = {"person": person, "type": rng.choice(["land", "wage_arrears"]), "amount": rng.randrange(100, 90000),
                 "status": rng.choice(["open", "resolved"])}
        elif kind == "incident":
            a = {"category": "traffic", "injured": rng.choice([0, 0, 1, 3]), "deaths": rng.choice([0] * 40 + [1])}
        elif kind in ("care_visit_due", "care_visit"):
            a = {"person": rng.choice(people[:30]), "program": "elderly"}
        else:
            a = {"topic": rng.choice(["t1", "t2"]), "platform": "weibo", "volume": rng.randrange(1, 500),
                 "sentiment": rng.uniform(-1, 1)}
        out.append(Record(kind=kind, source=rng.choice(["a", "hotline", "z"]), id=f"r{i}", at=at, region=region,
                          attributes=a))
    return out
