"""The inbox's reads: the jurisdiction filter is an index range equal to the region tree's own test."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from domain.regions import is_within
from domain.warnings import Status
from integrations.store.models import WarningRow
from integrations.store.warnings import STALE
from integrations.workspace.inbox import UNRESOLVED, subtree

AT = datetime(2026, 12, 5, tzinfo=UTC)
digits = st.text(alphabet="0123456789", min_size=3, max_size=3)
codes = st.builds(lambda p, d, t, c, g: f"{p}{d}{t}{c}{g}", st.sampled_from(["5101", "5199", "9999", "1100"]),
                  st.sampled_from(["00", "04", "99"]), st.sampled_from(["000", "001", "999"]),
                  st.sampled_from(["000", "001", "999"]), st.sampled_from(["", "001", "999"]))


def _root(code: str, digits_kept: int) -> str:
    return code[:digits_kept].ljust(12, "0")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(codes, min_size=1, max_size=30), codes, st.sampled_from([4, 6, 9, 12]))
def test_the_subtree_range_is_the_region_trees_own_test(sqlite_engine: sa.Engine, regions: list[str], pick: str,
                                                       depth: int) -> None:
    root = _root(pick, depth)
    with Session(sqlite_engine) as s:
        s.exec(sa.delete(WarningRow))  # type: ignore[call-overload]
        for i, region in enumerate(regions):
            s.add(WarningRow(fingerprint=f"f{i}", rule="r", level="red", region=region, first_at=AT, last_at=AT))
        s.commit()
        found = sorted(s.exec(select(WarningRow.region).where(subtree(root))))
    assert found == sorted(r for r in regions if is_within(r, root))


def test_unresolved_names_every_status_but_resolved() -> None:
    assert set(UNRESOLVED) == {s.value for s in Status} - {Status.resolved.value} | {STALE}


def test_the_inbox_reads_by_index(sqlite_engine: sa.Engine) -> None:
    query = select(WarningRow.id).where(subtree("510104001000"), col(WarningRow.status).in_(UNRESOLVED))
    sql = str(query.compile(sqlite_engine, compile_kwargs={"literal_binds": True}))
    with sqlite_engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
    assert "ix_warning_status_region" in plan and "SCAN warning" not in plan
