"""The canonical attribute text must stay byte for byte what json.dumps wrote: stored hashes depend on it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.records import Record
from integrations.store.prepared import canonical_json, prepare, utc_text
from integrations.store.records import content_hash


def reference(attributes: dict[str, Any]) -> str:
    """The form every stored hash was computed from (integrations/store/records.py before orjson)."""
    return json.dumps(attributes, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats()
    | st.floats(min_value=-1e-3, max_value=1e-3)
    | st.floats(min_value=1e14, max_value=1e18)
    | st.text()
    | st.text(alphabet=st.characters(max_codepoint=0x3000))  # controls, quotes, escapes, CJK, U+2028…
    | st.datetimes(timezones=st.just(UTC))
)
VALUES = st.recursive(_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
                      max_leaves=6)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(st.text(max_size=8), VALUES, max_size=6))
def test_canonical_json_is_the_stdlib_form(attributes: dict[str, Any]) -> None:
    assert canonical_json(attributes) == reference(attributes)


def test_values_other_writers_get_wrong_are_written_in_the_stdlib_form() -> None:
    # Each of these is written differently by orjson (once a third writer here): the stdlib form it is.
    for value in (1e-05, float("nan"), float("inf"), 2**64, -(2**63) - 1, "\ud800", datetime(2026, 1, 5, tzinfo=UTC)):
        assert canonical_json({"v": value}) == reference({"v": value})


def test_content_hash_of_a_record_is_unchanged() -> None:
    # Computed with the code before this change: records stored then must still compare unchanged.
    record = Record(
        kind="petition",
        source="xinfang",
        id="XF-1",
        at=datetime(2026, 1, 5, 1, 0, tzinfo=UTC),
        region="510104001001001",
        attributes={"people": 3, "subject": "征地补偿", "channel": "visit", "amount": 12.5, "none": None},
    )
    expected = "cbb72d42e45a079c767c72a2407c7746d69ccb4dec8e9d353ca31b79744d58b7"
    assert content_hash(record) == prepare(record).content_hash == expected


def test_utc_text_at_the_edges_of_a_second_and_a_day() -> None:
    for at in (
        datetime(2026, 1, 4, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 1, 5, 0, 0, 0, 0, tzinfo=UTC),
        datetime(2099, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    ):
        assert utc_text(at) == at.replace(tzinfo=None).isoformat(" ", "microseconds")
