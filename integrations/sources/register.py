"""The register (台账) as a source: the care visits falling due, as ``care_visit_due`` records.

It reads the ``register_person`` table and, for an event-time window ``[since, until)``, emits one item per
visit due in it (:func:`due_items`): id ``due-<register id>-<yyyymmdd>``, event time 09:00 Beijing time
of the due day, region the person's grid, ``person`` the pseudonym and ``program`` the category's title.
Being a source, the whole ingest path applies (validation, cursor, quarantine, watermarks) and the
``care-visit-missed`` rule sees the records like any department's.

The cursor is the end of the last window emitted (plus, inside a window longer than one page, the window
and the offset reached), so each due day is emitted once however often the pipeline runs; an entry
imported later gets its visits from the next window on, never backdated ones. The first run starts
``first_run`` (sources.yaml, default one day) before the pipeline's clock. Ids are stable: re-emitting a
window stores nothing new.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from domain.beijing import BEIJING
from domain.messages import N_, Message, message_of
from domain.registers import CareCategories, CategoriesError, due_dates, due_id
from integrations.settings import Settings
from integrations.sources.base import ConfiguredSource, Page, RawItem, SourceRequestError
from integrations.sources.mapping import SourceConfig
from integrations.store.registers import entries_due_between

DUE_AT = time(9, 0)
"""The time of day (Beijing) a visit falls due: the start of the working day."""


def due_at(day: date) -> datetime:
    """Event time of a visit due on ``day``."""
    return datetime.combine(day, DUE_AT, BEIJING)


def due_items(session: Session, categories: CareCategories, since: datetime, until: datetime) -> list[RawItem]:
    """The visits due with event time in ``[since, until)``, ordered by time then id, as source items.

    An entry's visits stop at its end date (inclusive) and at the moment it was closed; an entry whose
    category is no longer in the policy file has none."""
    first = since.astimezone(BEIJING).date()
    last = until.astimezone(BEIJING).date() + timedelta(days=1)
    items: list[tuple[datetime, int, RawItem]] = []
    for row in entries_due_between(session, first, last):
        category = categories.by_key.get(row.category)
        if category is None or row.id is None:
            continue
        for day in due_dates(row.start_date, row.end_date, category.interval_days, first, last):
            at = due_at(day)
            if not since <= at < until or (row.closed_at is not None and at >= row.closed_at):
                continue
            items.append((at, row.id, {"id": due_id(row.id, day), "due_at": at.isoformat(), "grid": row.grid,
                                       "person": row.person, "program": category.title}))
    items.sort(key=lambda t: (t[0], t[1]))
    return [item for _, _, item in items]


class RegisterSource(ConfiguredSource):
    """Pages of the visits falling due (see the module docstring)."""

    def __init__(self, config: SourceConfig, engine: sa.Engine, categories: CareCategories, *,
                 now: datetime | None = None, first_run: timedelta = timedelta(days=1),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), own_engine: bool = False) -> None:
        self._config = config
        self.engine, self.categories, self.first_run = engine, categories, first_run
        self._now, self._clock, self._own_engine = now, clock, own_engine
        self._cached: tuple[tuple[datetime, datetime], list[RawItem]] | None = None

    @classmethod
    def from_settings(cls, config: SourceConfig, settings: Settings, *, now: datetime | None = None,
                      first_run: timedelta = timedelta(days=1)) -> RegisterSource:
        """The register of the configured store, with the configured categories (errors as SourceRequestError)."""
        from integrations.store.db import make_engine

        try:
            categories = CareCategories.load(settings.care_categories)
        except CategoriesError as exc:
            raise SourceRequestError(config.name, Message(N_("{reason}；请修改类别文件"),
                                                          reason=message_of(exc) or str(exc))) from None
        return cls(config, make_engine(settings.resolved_database_url), categories, now=now, first_run=first_run,
                   own_engine=True)

    def fetch(self, cursor: str | None, *, limit: int) -> Page:
        """The next page of visits due, up to the pipeline's clock (or now)."""
        now = self._now or self._clock()
        since, until, offset = self._window(cursor, now)
        ref = f"register:{since.isoformat()}..{until.isoformat()}+{offset}"
        if until <= since:
            return Page([], cursor, ref)
        try:
            items = self._items(since, until)
        except sa.exc.SQLAlchemyError as exc:
            raise SourceRequestError(self.name, Message(N_("无法读取台账（{error}）；"
                                                           "请检查存储（fenghuo sources status）"),
                                                        error=type(exc).__name__)) from None
        page = items[offset:offset + limit]
        if offset + limit < len(items):
            nxt = {"since": since.isoformat(), "until": until.isoformat(), "offset": offset + limit}
            return Page(page, json.dumps(nxt), ref, has_more=True)
        return Page(page, json.dumps({"since": until.isoformat()}), ref)

    def _items(self, since: datetime, until: datetime) -> list[RawItem]:
        """The window's items, computed once for all its pages (a window's end is fixed by its cursor)."""
        if self._cached is None or self._cached[0] != (since, until):
            with Session(self.engine) as session:
                self._cached = ((since, until), due_items(session, self.categories, since, until))
        return self._cached[1]

    def _window(self, cursor: str | None, now: datetime) -> tuple[datetime, datetime, int]:
        if not cursor:
            return now - self.first_run, now, 0
        try:
            data: dict[str, Any] = json.loads(cursor)
            since = datetime.fromisoformat(data["since"])
            until = datetime.fromisoformat(data["until"]) if "until" in data else now
            return since, until, int(data.get("offset", 0))
        except (ValueError, KeyError, TypeError):
            raise SourceRequestError(self.name, Message(N_("存储的游标 {cursor} 无法读取；请重置"),
                                                        cursor=repr(cursor[:80]))) from None

    def close(self) -> None:
        """Release the engine if this source made it."""
        if self._own_engine:
            self.engine.dispose()
