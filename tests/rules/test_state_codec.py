"""The evaluator's state as msgpack (+ zlib) bytes: state → bytes → state is the identity, and an
evaluator restored from the bytes continues exactly as the one never stopped."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from domain.records import Record
from rules.engine.evaluate import Evaluator
from rules.engine.state_codec import StateFormatError, decode_state, encode_state
from tests.rules.engine_helpers import CHAIN_RULE, CST, REGION, book, rec
from tests.rules.test_equivalence import CAL, records, rules
from tests.rules.test_windows import NOISE

PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), PLAIN, max_size=6), st.booleans())
def test_plain_data_survives_the_round_trip(state: dict[str, Any], compress: bool) -> None:
    assert decode_state(encode_state(state, compress=compress)) == state


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=[Phase.generate])
@given(rules(), records(), st.integers(0, 40))
def test_a_restored_evaluator_is_the_one_that_never_stopped(rule_list: list[dict[str, Any]], recs: list[Any],
                                                            cut: int) -> None:
    _continues_exactly(rule_list, recs, cut)


def _continues_exactly(rule_list: list[dict[str, Any]], recs: list[Any], cut: int) -> None:
    b = book(yaml.safe_dump(rule_list, allow_unicode=True), CAL)
    recs = sorted(recs, key=lambda r: r.key)
    while 0 < cut < len(recs) and recs[cut].at == recs[cut - 1].at:
        cut += 1  # a batch never splits an instant (integrations.store.release): neither does the cut
    whole, first = Evaluator(b, "reference"), Evaluator(b, "reference")
    try:
        before = first.feed(recs[:cut])
        snapshot = first.snapshot()
        again = Evaluator.restore(b, decode_state(encode_state(snapshot)), engine="reference")
        try:
            # state → bytes → state is the identity (bytes compared: tuples and lists are one msgpack array)
            assert encode_state(again.snapshot(), compress=False) == encode_state(snapshot, compress=False)
            assert whole.feed(recs[:cut]) + whole.feed(recs[cut:]) == before + again.feed(recs[cut:])
            assert encode_state(again.snapshot(), compress=False) == encode_state(whole.snapshot(), compress=False)
        finally:
            again.close()
    finally:
        whole.close()
        first.close()


CHAIN_RULES = [
    {"id": "r0", "record": "petition", "where": {"people": {"eq": 0}},
     "levels": [{"level": "blue"}, {"level": "orange", "when": {"people": {"eq": 0}}}]},
    CHAIN_RULE,
]


def test_the_sweep_schedule_is_restored_with_the_windows() -> None:
    # Found by the property above: the whole evaluator last swept at 01-06 03:01 and next sweeps 6 h later;
    # one restored from the cut swept at 01-06 09:00 and dropped the chained warning of 01-05 09:00.
    day5, day6 = datetime(2026, 1, 5, 9, 0, tzinfo=CST), datetime(2026, 1, 6, 9, 0, tzinfo=CST)
    ats = [day5] * 15 + [day6, day6 - timedelta(hours=5, minutes=59), day5, day5, day5]
    recs = [Record(kind="petition", source="test", id=f"r0285{39 + i:02d}", at=at, region=REGION,
                   attributes={"people": 0} if i == 17 else {}) for i, at in enumerate(ats)]
    _continues_exactly(CHAIN_RULES, recs, 19)


def test_a_late_record_counts_the_same_after_a_restore() -> None:
    # What the sweep forgot changes what a late record counts: the sweep schedule is part of the state.
    b = book(NOISE)
    other = "510104002001"
    hours = [(0, REGION), (6, other), (12, other), (19, other)]
    first_part = [rec("hotline", h * 60, region=region, category="noise") for h, region in hours]
    later = [[rec("hotline", 24 * 60 + 30, region=other, category="noise")],  # the watermark passes a day
             [rec("hotline", 23 * 60, category="noise")]]  # late: within a day of the first
    whole, first = Evaluator(b, "reference"), Evaluator(b, "reference")
    whole.feed(first_part)
    first.feed(first_part)
    again = Evaluator.restore(b, decode_state(encode_state(first.snapshot())), engine="reference")
    try:
        for batch in later:
            assert again.feed(batch) == whole.feed(batch)
        assert whole.warnings()[-1].level.value == "blue"  # the late one counted the first: 2
    finally:
        for ev in (whole, first, again):
            ev.close()


@pytest.mark.parametrize("data", [b"", b"{}", b"FHS\x09xx", b"FHS\x02not zlib", b"FHS\x01\xc1",
                                  encode_state({"a": 1}, compress=False)[:-1]])
def test_anything_else_is_refused(data: bytes) -> None:
    with pytest.raises(StateFormatError):
        decode_state(data)


def test_a_list_at_the_top_is_refused() -> None:
    import msgpack

    with pytest.raises(StateFormatError, match="not a mapping"):
        decode_state(b"FHS\x01" + msgpack.packb([1, 2]))
