"""The store's column types and field helpers, shared by every table module.

Datetimes are stored in UTC and always come back timezone-aware (:class:`AwareDateTime`), on SQLite as on
PostgreSQL. The table modules (:mod:`integrations.store.models`, :mod:`integrations.store.assessment_models`)
import from here, so neither needs the other for its columns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field


class AwareDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime column: refuses naive values, stores UTC, returns UTC-aware values."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: Fenghuo stores timezone-aware datetimes only")
        value = value.astimezone(UTC)
        # SQLite keeps no offset: store naive UTC there and re-attach UTC on the way out.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, timezone-aware (wall time: only for bookkeeping such as received_at, never for rules)."""
    return datetime.now(UTC)


def _dt(**kw: Any) -> Any:
    """A field stored as :class:`AwareDateTime`."""
    return Field(sa_type=AwareDateTime, **kw)


def _json(**kw: Any) -> Any:
    """A field stored as JSON (small lists and mappings)."""
    return Field(sa_type=sa.JSON, **kw)
