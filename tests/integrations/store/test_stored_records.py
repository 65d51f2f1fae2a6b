"""Records read back from the store: built without validating again, yet equal to the records stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlmodel import Session

from domain.records import Record
from integrations.store.db import session_scope
from integrations.store.record_reads import records_between, seq_records_after
from integrations.store.records import upsert_records
from integrations.store.slice_reads import read_slice
from integrations.store.stored_records import record_of

T0 = datetime(2026, 3, 1, 1, 2, 3, 456789, tzinfo=UTC)
REGIONS = ["510104001001", "510104002000", "510104000000", "510104001001003"]


def _records() -> list[Record]:
    attrs = [{}, {"people": 60, "subject": "征地拆迁", "tags": ["欠薪", "重复访"]}, {"amount": 12.5, "ok": True},
             {"nested": {"a": [1, None, "二"]}}]
    return [Record(kind=k, source=s, id=f"{s}-{i}", at=T0 + timedelta(minutes=i), region=REGIONS[i % 4],
                   attributes=attrs[i % 4])
            for i, (k, s) in enumerate([("petition", "xinfang"), ("hotline", "hotline12345"),
                                        ("dispute", "mediation"), ("incident", "public-safety")] * 3)]


def test_records_read_back_every_way_equal_the_records_stored(engine: sa.Engine) -> None:
    stored = _records()
    with session_scope(engine) as session:
        upsert_records(session=session, records=stored)
    with Session(engine) as session:
        by_seq = [r for _, r in seq_records_after(session=session, seq=0)]
        between = records_between(session=session, since=T0, until=T0 + timedelta(days=1))
        sliced = read_slice(session, T0, T0 + timedelta(days=1), None, sorted({r.kind for r in stored}))
    assert by_seq == stored
    assert sorted(between, key=lambda r: r.key) == stored
    assert sorted(sliced, key=lambda r: r.key) == stored
    assert all(r.at.tzinfo is not None and r.at.utcoffset() == timedelta(0) for r in by_seq + between + sliced)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["petition", "hotline"]), source=st.text(min_size=1, max_size=8),
       id=st.text(min_size=1, max_size=8), minutes=st.integers(0, 10**6), region=st.sampled_from(REGIONS),
       attributes=st.dictionaries(st.text(max_size=4), st.one_of(st.integers(), st.text(max_size=4), st.none()),
                                  max_size=3),
       late=st.booleans())
def test_a_record_built_without_validation_equals_the_validated_one(kind: str, source: str, id: str, minutes: int,
                                                                   region: str, attributes: dict[str, object],
                                                                   late: bool) -> None:
    at = T0 + timedelta(minutes=minutes)
    made = record_of(kind, source, id, at, region, attributes, late)
    valid = Record(kind=kind, source=source, id=id, at=at, region=region, attributes=attributes, late=late)
    assert made == valid and hash(made.key) == hash(valid.key) and made.ref == valid.ref
    assert made.model_dump() == valid.model_dump()
    other = record_of(kind, source, id, at, region, {}, late)
    moved = made.model_copy(update={"late": not late})  # as the live path copies records
    assert moved.late is not late and made.late is late and made.model_fields_set == valid.model_fields_set
    assert other.model_fields_set == valid.model_fields_set  # the fields set they share is left alone
    with pytest.raises(ValidationError):
        made.late = not late  # frozen, as a validated record is
