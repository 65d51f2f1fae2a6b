"""The store: migrations, aware datetimes and the one-open-warning-per-fingerprint constraint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from integrations.store.db import open_store, session_scope
from integrations.store.models import WarningRow

CST = timezone(timedelta(hours=8))


def _warning(fp: str) -> WarningRow:
    at = datetime(2026, 1, 5, 9, 0, tzinfo=CST)
    return WarningRow(fingerprint=fp, open_key=fp, rule="r", level="blue", region="510104001001",
                      first_at=at, last_at=at)


def test_migrations_create_every_table(engine: sa.Engine) -> None:
    names = set(sa.inspect(engine).get_table_names())
    assert {"record", "record_version", "quarantine", "cursor", "warning", "audit", "outbox",
            "evaluator_state", "alembic_version"} <= names


def test_migrating_twice_is_harmless(store_url: str) -> None:
    open_store(store_url).dispose()
    eng = open_store(store_url)
    with eng.connect() as conn:
        assert conn.execute(sa.text("select count(*) from alembic_version")).scalar_one() == 1
    eng.dispose()


def test_migrations_build_exactly_the_models_schema(engine: sa.Engine) -> None:
    # A model changed without its migration (or the reverse) shows up here as a difference.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from integrations.store.db import include_object_for
    from integrations.store.tables import METADATA

    with engine.connect() as conn:
        hook = include_object_for(conn.dialect.name)
        context = MigrationContext.configure(conn, opts={"include_object": hook})
        # Every table module is gathered in integrations.store.tables: a missing one would pass unseen.
        assert {"warning", "assessment", "user_account"} <= set(METADATA.tables)
        assert compare_metadata(context, METADATA) == []
        record_indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("record")}
    # The region index is PostgreSQL's only (migration 0003); the kind index is gone everywhere (0002).
    assert ("ix_record_region" in record_indexes) == (engine.dialect.name == "postgresql")
    assert "ix_record_kind" not in record_indexes and "ix_record_at" in record_indexes


def test_record_index_migrations_go_down_and_up(store_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from integrations.store.db import MIGRATIONS

    eng = open_store(store_url)
    pg = eng.dialect.name == "postgresql"

    def indexes() -> set[str]:
        return {ix["name"] for ix in sa.inspect(eng).get_indexes("record")}

    assert {"ix_record_kind", "ix_record_region"} & indexes() == ({"ix_record_region"} if pg else set())
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert {"ix_record_kind", "ix_record_region"} <= indexes()  # the initial schema's, on both
    eng.dispose()
    eng = open_store(store_url)  # back to head
    assert {"ix_record_kind", "ix_record_region"} & indexes() == ({"ix_record_region"} if pg else set())
    eng.dispose()


def test_datetimes_come_back_aware_and_equal(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        s.add(_warning("a"))
    with Session(engine) as s:
        row = s.exec(select(WarningRow)).one()
    assert row.first_at.tzinfo is not None
    assert row.first_at == datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def test_naive_datetime_is_refused(engine: sa.Engine) -> None:
    row = _warning("n")
    row.first_at = datetime(2026, 1, 5, 9, 0)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), session_scope(engine) as s:
        s.add(row)


def test_one_open_warning_per_fingerprint(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        s.add(_warning("same"))
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as s:
        s.add(_warning("same"))
    # Resolved warnings release the key: the next firing may open a new one.
    with session_scope(engine) as s:
        row = s.exec(select(WarningRow)).one()
        row.open_key = None
        row.status = "resolved"
        s.add(row)
    with session_scope(engine) as s:
        s.add(_warning("same"))
