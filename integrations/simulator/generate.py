"""Deterministic synthetic departmental data for the simulated city (background traffic).

:class:`Generator` produces every department's entries day by day over a simulated month (default
2026-01-05 to 2026-02-03, Asia/Shanghai: the Spring Festival run-up). Background volume at ``scale=1`` is
about 13,000 records; :mod:`integrations.simulator.scenarios` plants the situations the default rules are
meant to catch, and :func:`integrations.simulator.month.generate` puts the two together.
Items are shaped the department's way (its own field names, raw ID-card numbers and phone numbers), not
Fenghuo's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from domain.beijing import BEIJING
from integrations.simulator.people import Person, make_person
from integrations.simulator.regions import DISTRICTS, RegionTree, region_tree
from integrations.simulator.vocab import (
    CARE_PROGRAMS,
    DAILY,
    DESCRIPTORS,
    DISPUTE_TYPES,
    HOTLINE_CATEGORIES,
    HOUR_WEIGHTS,
    ID_PREFIX,
    INCIDENT_CATEGORIES,
    PETITION_SUBJECTS,
    PLATFORMS,
)

_DISTRICTS = list(DISTRICTS)
DEFAULT_START = datetime(2026, 1, 5, tzinfo=BEIJING)
DEFAULT_DAYS = 30
KINDS = ("petition", "dispute", "hotline", "incident", "opinion", "care_visit_due", "care_visit")
"""The simulator's departments, one endpoint each (``/api/{kind}``)."""

ID_FIELD = {"dispute": "case_no", "hotline": "ticket_id"}
"""The departments' id field where it is not ``id``."""


@dataclass
class Entry:
    """One item as a department serves it, with the time the department last changed it."""

    kind: str
    item: dict[str, Any]
    updated_at: datetime


def iso(t: datetime) -> str:
    """Shanghai-local ISO 8601 with offset, the departments' timestamp format."""
    return t.astimezone(BEIJING).isoformat(timespec="seconds")


@dataclass
class Generator:
    """Seeded generator; call :meth:`background_day` per day, then :meth:`entries` for the result."""

    seed: int
    start: datetime = DEFAULT_START
    scale: float = 1.0
    bad_rate: float = 0.0
    rng: random.Random = field(init=False)
    tree: RegionTree = field(init=False)
    population: int = field(init=False)
    """How many residents there are; each is made on first use (deterministically from its number)."""
    _people: dict[int, Person] = field(init=False, default_factory=dict)
    out: list[Entry] = field(init=False, default_factory=list)
    _counter: dict[str, int] = field(init=False, default_factory=dict)
    planted: list[str] = field(init=False, default_factory=list)
    """One line per planted scenario, for the demo and for rule authors."""

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.tree = region_tree()
        self.grids = self.tree.all_grids
        # Large enough that unplanned coincidences (the same person in two departments) stay rare.
        self.population = max(200, int(50000 * self.scale))

    # -- building blocks -------------------------------------------------------------------------
    def day_start(self, day: int) -> datetime:
        """Midnight (Shanghai) of simulated day ``day`` (0-based)."""
        d: date = self.start.astimezone(BEIJING).date() + timedelta(days=day)
        return datetime(d.year, d.month, d.day, tzinfo=BEIJING)

    def when(self, day: int) -> datetime:
        """A random moment of ``day``, busier in the daytime."""
        hour = self.rng.choices(range(24), HOUR_WEIGHTS)[0]
        return self.day_start(day) + timedelta(hours=hour, seconds=self.rng.randrange(3600))

    def person(self) -> Person:
        """A random resident."""
        i = self.rng.randrange(self.population)
        p = self._people.get(i)
        if p is None:
            own = random.Random(self.seed * 1_000_003 + i)
            p = self._people[i] = make_person(own, own.choice(_DISTRICTS))
        return p

    def caller(self) -> str:
        """A hotline caller's number: mostly one-off callers, one in five a known resident."""
        if self.rng.random() < 0.2:
            return self.person().phone
        return f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"

    def new_id(self, kind: str, at: datetime) -> str:
        """The department's id: prefix, local date and a running number (``XF-20260105-000123``)."""
        n = self._counter[kind] = self._counter.get(kind, 0) + 1
        return f"{ID_PREFIX[kind]}-{at.astimezone(BEIJING):%Y%m%d}-{n:06d}"

    def emit(self, kind: str, at: datetime, region: str, **fields: Any) -> dict[str, Any]:
        """Add a new item; the department records it 5–120 minutes after it happened."""
        time_field = "call_time" if kind == "hotline" else "occurred_at"
        id_field = ID_FIELD.get(kind, "id")
        updated = at + timedelta(minutes=self.rng.randint(5, 120))
        item: dict[str, Any] = {id_field: self.new_id(kind, at), time_field: iso(at), "region_code": region}
        item.update(fields)
        item["updated_at"] = iso(updated)
        if self.bad_rate and self.rng.random() < self.bad_rate:
            self._corrupt(item, time_field)
        self.out.append(Entry(kind, item, updated))
        return item

    def update(self, kind: str, item: dict[str, Any], at: datetime, **changes: Any) -> dict[str, Any]:
        """A later change of an item at its department (same id, new content)."""
        new = {**item, **changes, "updated_at": iso(at)}
        self.out.append(Entry(kind, new, at))
        return new

    def _corrupt(self, item: dict[str, Any], time_field: str) -> None:
        # What real departmental exports get wrong: bad codes, local times without offset, text numbers.
        how = self.rng.randrange(3)
        if how == 0:
            item["region_code"] = "5101" + str(self.rng.randrange(100))
        elif how == 1:
            item[time_field] = item[time_field][:19]
        else:
            item["region_code"] = None

    def entries(self) -> list[Entry]:
        """Everything generated so far, in the departments' update order."""
        return sorted(self.out, key=lambda e: (e.updated_at, e.kind, str(next(iter(e.item.values())))))

    # -- background --------------------------------------------------------------------------------
    def _n(self, kind: str) -> int:
        mean = DAILY[kind] * self.scale
        return max(0, int(self.rng.gauss(mean, mean**0.5)))

    def background_day(self, day: int) -> None:
        """Ordinary traffic of simulated day ``day`` in every department."""
        # This order is the order of the seeded draws: changing it changes every generated month.
        self._hotline_day(day)
        self._petition_day(day)
        self._dispute_day(day)
        self._incident_day(day)
        self._opinion_day(day)
        self._care_day(day)

    def _hotline_day(self, day: int) -> None:
        """The day's 12345 calls."""
        rng = self.rng
        for _ in range(self._n("hotline")):
            cat = rng.choices(list(HOTLINE_CATEGORIES), list(HOTLINE_CATEGORIES.values()))[0]
            self.emit(
                "hotline",
                self.when(day),
                rng.choice(self.grids),
                phone=self.caller(),
                category=cat,
                descriptor=rng.choice(DESCRIPTORS[cat]),
                status=rng.choice(["closed", "closed", "in_progress", "open"]),
            )

    def _petition_day(self, day: int) -> None:
        """The day's petitions (信访)."""
        rng = self.rng
        for _ in range(self._n("petition")):
            p = self.person()
            subject = rng.choice(PETITION_SUBJECTS)
            if rng.random() < 0.05:  # free text with a raw phone number, as clerks type it
                subject += f"（联系电话{p.phone}）"
            self.emit(
                "petition",
                self.when(day),
                rng.choice(self.grids),
                id_card=p.id_card,
                name=p.name,
                people=1 if rng.random() < 0.85 else rng.randint(2, 4),
                subject=subject,
                channel=rng.choice(["visit", "letter", "phone", "online"]),
                status=rng.choice(["received", "accepted", "concluded"]),
            )

    def _dispute_day(self, day: int) -> None:
        """The day's mediated disputes, some settled a few days later."""
        rng = self.rng
        for _ in range(self._n("dispute")):
            p = self.person()
            dtype = rng.choices(list(DISPUTE_TYPES), list(DISPUTE_TYPES.values()))[0]
            amount = round(rng.uniform(2000, 60000), 2) if dtype in ("wage_arrears", "labour", "property") else 0
            at = self.when(day)
            item = self.emit(
                "dispute",
                at,
                rng.choice(self.grids),
                id_card=p.id_card,
                name=p.name,
                dispute_type=dtype,
                people=rng.randint(1, 3),
                amount=amount,
                status=rng.choice(["open", "mediating", "resolved"]),
            )
            if item["status"] != "resolved" and rng.random() < 0.3:  # settled a few days later
                self.update("dispute", item, at + timedelta(days=rng.randint(1, 6)), status="resolved")

    def _incident_day(self, day: int) -> None:
        """The day's police incidents."""
        rng = self.rng
        for _ in range(self._n("incident")):
            grid = rng.choice(self.grids)
            self.emit(
                "incident",
                self.when(day),
                grid,
                category=rng.choice(INCIDENT_CATEGORIES),
                injured=0 if rng.random() < 0.8 else 1,
                deaths=0,
                address=f"{self.tree.names[grid[:12]]}{rng.randint(1, 300)}号附近",
                status=rng.choice(["handled", "handling"]),
            )

    def _opinion_day(self, day: int) -> None:
        """The day's online opinion topics."""
        rng = self.rng
        for _ in range(self._n("opinion")):
            self.emit(
                "opinion",
                self.when(day),
                rng.choice(self.grids)[:12],
                topic=rng.choice(["交通拥堵", "物业服务", "学校招生", "菜价", "公园改造", "地铁施工"]),
                platform=rng.choice(PLATFORMS),
                volume=rng.randint(20, 800),
                sentiment=round(rng.uniform(-0.3, 0.6), 2),
            )

    def _care_day(self, day: int) -> None:
        """The day's care visits falling due (1% missed)."""
        rng = self.rng
        for _ in range(self._n("care_visit_due")):
            self.care_due(day, visited=rng.random() > 0.01)

    def care_due(self, day: int, *, visited: bool, late_hours: float | None = None) -> dict[str, Any]:
        """A care visit falling due, with the visit 2–60 h later (or ``late_hours``), unless not visited."""
        p = self.person()
        grid = self.rng.choice(self.grids)
        program = self.rng.choice(CARE_PROGRAMS)
        due_at = self.when(day)
        item = self.emit("care_visit_due", due_at, grid, id_card=p.id_card, name=p.name, program=program, outcome="due")
        if visited or late_hours is not None:
            hours = late_hours if late_hours is not None else self.rng.uniform(2, 60)
            self.emit(
                "care_visit",
                due_at + timedelta(hours=hours),
                grid,
                id_card=p.id_card,
                name=p.name,
                program=program,
                outcome=self.rng.choice(["visited", "visited", "visited", "referred"]),
            )
        return item
