"""The door: hostile values are quarantined with their reason, the rest of the page is stored, and no
item can stall its source — on both backends (PostgreSQL refuses a NUL in text, every encoder a lone
surrogate)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from domain.kinds import BadText, OutOfRange, RecordKinds
from integrations.ingest.run import ingest_source
from integrations.sources import DEPARTMENTS, FakeSource
from integrations.sources.mapping import map_item
from integrations.store.db import session_scope
from integrations.store.models import QuarantineRow, RecordRow

KEY = "test-key"
PETITIONS = DEPARTMENTS[0]  # xinfang: person (from id_card), people, subject, channel, status


def _item(i: int, **over: Any) -> dict[str, Any]:
    item = {"id": f"XF-{i}", "occurred_at": "2026-01-05T09:00:00+08:00", "region_code": "510104001001001",
            "id_card": "51010419900101123X", "people": 3, "subject": "欠薪", "channel": "visit"}
    return {**item, **over}


def _nested(levels: int) -> list[Any]:
    """``levels`` lists inside each other, built without recursion (past the interpreter's stack)."""
    out: list[Any] = []
    for _ in range(levels - 1):
        out = [out]
    return out


HOSTILE = {
    "lone surrogate in text": ({"subject": "\ud800"}, "bad_text"),
    "NUL in text": ({"subject": "a\x00b"}, "bad_text"),
    "lone surrogate in the identifier": ({"id_card": "\udfff"}, "bad_text"),
    "NUL in the id": ({"id": "XF\x00"}, "bad_text"),
    "10^30 people": ({"people": 10**30}, "out_of_range"),
    "1e308 people": ({"people": 1e308}, "out_of_range"),
    "-5 people": ({"people": -5}, "out_of_range"),
    "a 5 MB subject": ({"subject": "访" * 5_000_000}, "out_of_range"),
    "the year 0001": ({"occurred_at": "0001-01-01T00:00:00+08:00"}, "out_of_range"),
    # Before domain.nesting: RecursionError out of the mapping (repr, masking), the whole page lost.
    "a subject nested 100,000 deep": ({"subject": _nested(100_000)}, "too_deep"),
    "a subject nested 40 deep": ({"subject": _nested(40)}, "too_deep"),
    "an identifier nested 100,000 deep": ({"id_card": _nested(100_000)}, "too_deep"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_reference_mapping_refuses_with_a_code(name: str, kinds: RecordKinds) -> None:
    over, code = HOSTILE[name]
    out = map_item(_item(1, **over), PETITIONS, kinds, KEY)
    assert getattr(out, "code", None) == code, out


def test_a_page_of_hostile_items_quarantines_each_and_stores_the_rest(engine: sa.Engine, kinds: RecordKinds) -> None:
    items = [_item(i, **over) for i, (over, _) in enumerate(HOSTILE.values())]
    items += [_item(100 + i) for i in range(5)]
    report = ingest_source(engine, FakeSource(PETITIONS, items), kinds=kinds, key=KEY, page_size=4)
    again = ingest_source(engine, FakeSource(PETITIONS, items), kinds=kinds, key=KEY, page_size=4)
    assert report.stored == 5 and again.stored == 0  # the source is not stalled: every page went through
    with session_scope(engine) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(RecordRow)).scalar_one() == 5
        rows = s.execute(sa.select(QuarantineRow.raw, QuarantineRow.reason)).all()
    assert len({raw for raw, _ in rows}) >= len(HOSTILE)
    assert all("\x00" not in raw and "\x00" not in reason for raw, reason in rows)
    assert "51010419900101123X" not in "".join(raw for raw, _ in rows)  # still pseudonymised in quarantine


def test_bounds_are_data_in_the_kinds_file() -> None:
    kinds = RecordKinds.from_mapping({"kinds": {"k": {"fields": {
        "n": {"type": "int", "min": 1, "max": 3}, "t": {"type": "string", "max_length": 2},
        "x": {"type": "number"}, "when": "timestamp"}}}})
    assert kinds.coerce("k", {"n": 3, "t": "ab", "x": 1e15}) == {"n": 3, "t": "ab", "x": 1e15}
    for bad in ({"n": 0}, {"n": 4}, {"t": "abc"}, {"x": float("inf")}, {"x": float("nan")}, {"x": 1.1e15},
                {"when": "0001-01-01T00:00:00+00:00"}):
        with pytest.raises(OutOfRange):
            kinds.coerce("k", bad)
    with pytest.raises(BadText):
        kinds.coerce("k", {"t": "\x00"})
