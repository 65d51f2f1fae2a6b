"""The optimistic upsert (insert as if all new, else undo and check) gives what the checked one gives,
on SQLite (INSERT OR IGNORE, then delete) and on PostgreSQL (COPY in a savepoint, rolled back)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.records import Record
from integrations.store.db import open_store, session_scope
from integrations.store.prepared import prepare
from integrations.store.records import UpsertStats, upsert_prepared
from tests.record_rows import record_rows

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)

# (source, id, people): few ids and values, so batches repeat keys, re-deliver and change records.
_item = st.tuples(st.sampled_from("ab"), st.integers(0, 5), st.integers(1, 3))
_batches = st.lists(st.lists(_item, min_size=1, max_size=8), min_size=1, max_size=5)
_runs = itertools.count()


def _rows(engine: sa.Engine, prefix: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    records = record_rows(engine, prefix, "source, source_id, seq, version, content_hash, attributes, at")
    with engine.connect() as conn:
        versions = conn.execute(
            sa.text(
                "SELECT r.source, r.source_id, v.version, v.content_hash FROM record_version v JOIN record r "
                "ON r.id = v.record_id WHERE r.source LIKE :p ORDER BY r.source, r.source_id, v.version"
            ),
            {"p": f"{prefix}%"},
        ).fetchall()
    return records, [tuple(v) for v in versions]


def _upsert(engine: sa.Engine, batch: list[Record], optimistic: bool) -> UpsertStats:
    with session_scope(engine) as s:
        return upsert_prepared(session=s, records=[prepare(r) for r in batch], optimistic=optimistic)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[sa.Engine]]:
    """Two stores made once per backend (migrations are slow); each example writes under sources of its own."""
    if request.param == "sqlite":
        base = tmp_path_factory.mktemp("optimistic")
        urls = [f"sqlite:///{base}/{name}.db" for name in ("optimistic", "checked")]
    else:
        make = request.getfixturevalue("pg_schemas")
        urls = [make(), make()]
    engines = [open_store(url) for url in urls]
    yield engines
    for engine in engines:
        engine.dispose()


@settings(max_examples=60, deadline=None)
@given(batches=_batches)
def test_optimistic_and_checked_upserts_store_the_same(
    stores: list[sa.Engine], batches: list[list[tuple[str, int, int]]]
) -> None:
    run = f"x{next(_runs)}-"
    for batch in batches:
        records = [
            Record(
                kind="petition",
                source=run + src,
                id=f"r{i}",
                at=T0 + timedelta(minutes=i),
                region="510104001001001",
                attributes={"people": people},
            )
            for src, i, people in batch
        ]
        assert _upsert(stores[0], records, True) == _upsert(stores[1], records, False)
    # Seq numbers match too: both stores see the same batches in the same order, examples included.
    assert _rows(stores[0], run) == _rows(stores[1], run)


def test_a_batch_meeting_a_stored_key_is_undone_and_checked(engine: sa.Engine) -> None:
    def rec(i: int, people: int = 1) -> Record:
        return Record(
            kind="petition", source="s", id=f"r{i}", at=T0, region="510104001001001", attributes={"people": people}
        )

    assert _upsert(engine, [rec(1), rec(2)], True) == UpsertStats(2, 0, 0)
    # r2 unchanged, r1 changed, r3 new: the optimistic insert cannot take them all, so nothing of it stays.
    assert _upsert(engine, [rec(3), rec(2), rec(1, people=5)], True) == UpsertStats(1, 1, 1)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT source_id, seq, version FROM record ORDER BY seq").fetchall()
    assert [tuple(r) for r in rows] == [("r2", 2, 1), ("r3", 3, 1), ("r1", 4, 2)]
