"""Situations planted in the simulated month so the default rulebook fires at every level.

Each scenario is written in terms a rule author can check against the catalogue (thresholds in the
comments are the defaults of the rules that should catch it). Days are 0-based from the start
(2026-01-05 by default); on a shorter run they are clamped to the last day.

- collective petitions of 5, 6, 8, 12 (yellow), 60 (orange) and 320 (red) people;
- repeat petitioners: one person 5 times in the month, one 3 times in a week, one 4 times in 5 days;
- an unresolved dispute followed within 1–4 days by a petition of the same person (6 cases; 2 controls
  where the dispute was resolved);
- wage-arrears disputes concentrated in 新都区 (510114) from 2026-01-17 (Spring Festival run-up), large
  amounts, two of them over a million yuan;
- hotline noise spikes: 12 (blue), 35 (yellow) and 70 (orange) complaints from one community in hours,
  from distinct callers; and one caller ringing 9 times in a day (many calls, one person);
- serious incidents: 3, 6 injured; 1 death; 3 deaths and 12 injured; 10 deaths and 20 injured;
- missed care visits: 8 visits fall due and never happen, one happens 80 h late;
- opinion surges: negative topics whose volume adds up to 10,500 / 70,000 / 275,000 within hours
  (yellow, orange, red at 10k / 50k / 200k a day).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from integrations.simulator.generate import Generator

Day = Callable[[int], int]
"""Clamps a scenario's day to the run's length."""


def plant(gen: Generator, *, days: int) -> None:
    """Add every scenario to ``gen``."""
    for fn in (
        _collective,
        _repeaters,
        _dispute_then_petition,
        _wage_arrears,
        _noise,
        _incidents,
        _missed_care,
        _opinion,
    ):
        fn(gen, lambda d: min(d, days - 1))


def _collective(gen: Generator, day: Day) -> None:
    rng = gen.rng
    for d, people, subject in [
        (2, 6, "征地补偿"),
        (6, 8, "物业纠纷"),
        (13, 12, "拆迁安置"),
        (25, 5, "社保待遇"),
        (10, 60, "征地补偿"),
        (20, 320, "拖欠工资"),
    ]:
        grid = rng.choice(gen.grids)
        p = gen.person()
        gen.emit(
            "petition",
            gen.day_start(day(d)) + timedelta(hours=9, minutes=rng.randrange(60)),
            grid,
            id_card=p.id_card,
            name=p.name,
            people=people,
            subject=subject,
            channel="visit",
            status="received",
        )
        gen.planted.append(f"collective petition: {people} people on day {day(d)} in {grid[:9]}")


def _repeaters(gen: Generator, day: Day) -> None:
    for visits in ([1, 4, 8, 12, 18], [3, 5, 7], [15, 16, 17, 19]):
        p = gen.person()
        grid = gen.rng.choice(gen.grids)
        for d in visits:
            gen.emit(
                "petition",
                gen.when(day(d)),
                grid,
                id_card=p.id_card,
                name=p.name,
                people=1,
                subject="拆迁安置",
                channel=gen.rng.choice(["visit", "letter"]),
                status="received",
            )
        gen.planted.append(f"repeat petitioner: {len(visits)} petitions on days {visits}")


def _dispute_then_petition(gen: Generator, day: Day) -> None:
    cases = [
        (2, "open"),
        (7, "failed"),
        (11, "mediating"),
        (16, "open"),
        (22, "failed"),
        (26, "open"),
        (9, "resolved"),
        (19, "resolved"),
    ]
    for d, status in cases:
        p = gen.person()
        grid = gen.rng.choice(gen.grids)
        at = gen.when(day(d))
        gen.emit(
            "dispute",
            at,
            grid,
            id_card=p.id_card,
            name=p.name,
            dispute_type="property",
            people=1,
            amount=0,
            status=status,
        )
        gen.emit(
            "petition",
            at + timedelta(days=gen.rng.randint(1, 4)),
            grid,
            id_card=p.id_card,
            name=p.name,
            people=1,
            subject="物业纠纷",
            channel="visit",
            status="received",
        )
        gen.planted.append(f"{status} dispute then petition by the same person from day {day(d)}")


def _wage_arrears(gen: Generator, day: Day) -> None:
    rng = gen.rng
    hot_street = gen.tree.grids_in("510114002")
    district = gen.tree.grids_in("510114")
    for i in range(45):
        d = day(12 + i * 17 // 45)
        p = gen.person()
        grid = rng.choice(hot_street if rng.random() < 0.7 else district)
        gen.emit(
            "dispute",
            gen.when(d),
            grid,
            id_card=p.id_card,
            name=p.name,
            dispute_type="wage_arrears",
            people=rng.randint(3, 40),
            amount=round(rng.uniform(30_000, 400_000), 2),
            status=rng.choice(["open", "mediating"]),
        )
    for amount, people in ((1_250_000.0, 80), (2_100_000.0, 150)):
        p = gen.person()
        gen.emit(
            "dispute",
            gen.day_start(day(21)) + timedelta(hours=10),
            rng.choice(hot_street),
            id_card=p.id_card,
            name=p.name,
            dispute_type="wage_arrears",
            people=people,
            amount=amount,
            status="open",
        )
    gen.planted.append("wage arrears: 47 disputes in 510114 (mostly street 510114002) from day 12, two > 1M yuan")


def _noise(gen: Generator, day: Day) -> None:
    rng = gen.rng
    for d, n, hours in ((6, 12, 5), (16, 35, 5), (24, 70, 8)):
        community = rng.choice(gen.tree.all_communities)
        t0 = gen.day_start(day(d)) + timedelta(hours=20)
        for _ in range(n):
            gen.emit(
                "hotline",
                t0 + timedelta(seconds=rng.randrange(hours * 3600)),
                rng.choice(gen.tree.grids[community]),
                phone=gen.person().phone,
                category="noise",
                descriptor="夜间施工噪音",
                status="open",
            )
        gen.planted.append(f"noise spike: {n} complaints in {hours} h from community {community} on day {day(d)}")
    caller = gen.person()
    grid = rng.choice(gen.grids)
    for _ in range(9):
        gen.emit(
            "hotline",
            gen.when(day(11)),
            grid,
            phone=caller.phone,
            category="noise",
            descriptor="广场舞噪音",
            status="open",
        )
    gen.planted.append(f"one caller, 9 noise calls on day {day(11)} from grid {grid}")


def _incidents(gen: Generator, day: Day) -> None:
    for d, category, injured, deaths in (
        (3, "traffic", 3, 0),
        (8, "fight", 6, 0),
        (11, "fire", 4, 1),
        (18, "gas", 12, 3),
        (26, "construction", 20, 10),
    ):
        grid = gen.rng.choice(gen.grids)
        gen.emit(
            "incident",
            gen.when(day(d)),
            grid,
            category=category,
            injured=injured,
            deaths=deaths,
            address=f"{gen.tree.names[grid[:12]]}{gen.rng.randint(1, 300)}号",
            status="handling",
        )
        gen.planted.append(f"incident: {category}, {injured} injured, {deaths} dead on day {day(d)}")


def _missed_care(gen: Generator, day: Day) -> None:
    for d in (5, 9, 13, 17, 21, 23, 25, 27):
        gen.care_due(day(d), visited=False)
    gen.care_due(day(14), visited=False, late_hours=80)
    gen.planted.append("missed care visits: 8 never visited, 1 visited 80 h late")


def _opinion(gen: Generator, day: Day) -> None:
    for d, topic, community, ramp, sentiment in (
        (14, "学校食堂", "510107001001", (1500, 3000, 6000), -0.4),
        (9, "某小区业主维权", "510104002003", (2000, 6000, 12000, 20000, 30000), -0.6),
        (21, "工地欠薪讨薪视频", "510114002001", (5000, 20000, 50000, 80000, 120000), -0.85),
    ):
        t0 = gen.day_start(day(d)) + timedelta(hours=11)
        for i, volume in enumerate(ramp):
            gen.emit(
                "opinion",
                t0 + timedelta(hours=i),
                community,
                topic=topic,
                platform=PLATFORM_ORDER[i % len(PLATFORM_ORDER)],
                volume=volume,
                sentiment=sentiment,
            )
        gen.planted.append(f"opinion surge: {topic}, {sum(ramp)} in {len(ramp)} h on day {day(d)} in {community}")


PLATFORM_ORDER = ("weibo", "douyin", "wechat", "toutiao", "local_forum")
