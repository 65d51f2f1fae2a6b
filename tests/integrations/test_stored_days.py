"""Stored records a day at a time (``backtest --since``, ``records export``): together, the whole span in the
engine's order, whatever the database's collation; never the whole span in memory at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from domain.records import Record
from integrations.records_io import stored_days
from integrations.store.db import session_scope
from integrations.store.records import upsert_records

T0 = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)


def _records() -> list[Record]:
    out = []
    for i in range(60):  # about 2.5 days, some instants shared by several records
        at = T0 + timedelta(hours=i)
        for source in (("a-src", "B-src", "_src") if i % 7 == 0 else ("a-src",)):  # collations order these apart
            out.append(Record(kind="hotline", source=source, id=f"{i:03d}", at=at, region="510104001001",
                              attributes={"category": "noise"}))
    return out


def test_the_days_are_the_span_in_the_engines_order(engine: sa.Engine) -> None:
    records = _records()
    with session_scope(engine) as s:
        upsert_records(session=s, records=list(reversed(records)))
    days, chunks = stored_days(engine, T0 - timedelta(days=1), None)
    got = list(chunks)
    assert days == len(got) == 3
    assert all(day[-1].at - day[0].at < timedelta(days=1) for day in got)
    flat = [r.key for day in got for r in day]
    assert flat == sorted(r.key for r in records)
    later, chunks = stored_days(engine, T0 + timedelta(hours=30), T0 + timedelta(hours=40))
    assert later == 1 and [r.key for day in chunks for r in day] == sorted(
        r.key for r in records if T0 + timedelta(hours=30) <= r.at < T0 + timedelta(hours=40))


def test_an_empty_span_has_no_days(engine: sa.Engine) -> None:
    days, chunks = stored_days(engine, T0, T0 + timedelta(days=1))
    assert days == 0 and list(chunks) == []


def test_a_day_is_put_in_pythons_order_whatever_order_the_database_returns(
        engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL under a language collation orders ``B-src``, ``_src`` and ``a-src`` otherwise than Python
    (CI's is ``C``, which agrees): a database answering in another order must not change the stream."""
    import integrations.records_io as records_io

    records = _records()
    with session_scope(engine) as s:
        upsert_records(session=s, records=records)
    from integrations.store.records import records_between as plain

    def reversed_between(**kwargs: Any) -> list[Record]:
        return list(reversed(plain(**kwargs)))

    monkeypatch.setattr(records_io, "records_between", reversed_between)
    _, chunks = stored_days(engine, T0 - timedelta(days=1), None)
    assert [r.key for day in chunks for r in day] == sorted(r.key for r in records)
