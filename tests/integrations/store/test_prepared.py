"""The canonical attribute text must stay byte for byte what json.dumps wrote: stored hashes depend on it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.records import Record
from integrations.store.prepared import canonical_and_hash, canonical_json, hash_content, prepare, utc_text, utc_text_of
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


@settings(max_examples=2000, deadline=None)
@given(st.dictionaries(st.text(max_size=8), VALUES, max_size=6))
def test_canonical_json_is_the_stdlib_form(attributes: dict[str, Any]) -> None:
    assert canonical_json(attributes) == reference(attributes)


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(st.text(max_size=8), VALUES, max_size=6), st.sampled_from(["petition", "热线"]),
       st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=15))
def test_text_and_hash_together_are_the_two_apart(attributes: dict[str, Any], kind: str, ts: float,
                                                   region: str) -> None:
    # The ingest's one-pass form must give the very text and hash of the two functions it stands for.
    text = reference(attributes)
    try:
        expected: tuple[str, str] | None = (text, hash_content(kind, ts, region, text))
    except UnicodeEncodeError:  # a lone surrogate: neither way can hash it
        expected = None
    if expected is None:
        try:
            canonical_and_hash(kind, ts, region, attributes)
        except UnicodeEncodeError:
            return
        raise AssertionError("a text with a lone surrogate was hashed")
    assert canonical_and_hash(kind, ts, region, attributes) == expected


def test_known_differences_of_orjson_are_routed_to_the_stdlib() -> None:
    # Each of these is written differently by orjson; canonical_json must still write the stdlib form.
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


_zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-9, minutes=-30)), ZoneInfo("Asia/Shanghai"),
     ZoneInfo("America/New_York")]
)


@settings(max_examples=3000, deadline=None)
@given(st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2120, 12, 31), timezones=_zones))
def test_utc_text_from_the_timestamp_is_the_utc_text(at: datetime) -> None:
    # The ingest writes the stored time from the timestamp it already has; it must be the very same text
    # (the column is compared as text), microseconds included, before 1970 and after 2099 too.
    assert utc_text_of(at, at.timestamp()) == utc_text(at)


@settings(max_examples=1000, deadline=None)
@given(st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2120, 12, 31), timezones=_zones))
def test_utc_text_of_whole_seconds_is_the_utc_text(at: datetime) -> None:
    at = at.replace(microsecond=0)  # the common case, which takes its own way
    assert utc_text_of(at, at.timestamp()) == utc_text(at)


def test_utc_text_at_the_edges_of_a_second_and_a_day() -> None:
    for at in (
        datetime(2026, 1, 4, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 1, 5, 0, 0, 0, 0, tzinfo=UTC),
        datetime(2099, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    ):
        assert utc_text_of(at, at.timestamp()) == utc_text(at) == at.replace(tzinfo=None).isoformat(" ", "microseconds")
