"""A warning's fingerprint: remembered for recent groups, always the same as computing it afresh."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.warnings import _fingerprint, fingerprint

VALUE = st.one_of(st.integers(-3, 3), st.floats(-2, 2, allow_nan=False), st.booleans(), st.none(),
                  st.text(max_size=4), st.lists(st.integers(0, 2), max_size=2))


@given(st.sampled_from(["r1", "r2"]), st.dictionaries(st.sampled_from(["community", "person", "street"]), VALUE))
def test_a_remembered_fingerprint_equals_a_fresh_one(rule: str, group: dict[str, Any]) -> None:
    assert fingerprint(rule, group) == _fingerprint(rule, group)
    assert fingerprint(rule, group) == _fingerprint(rule, group)  # the second time from memory


def test_equal_values_of_different_types_keep_different_fingerprints() -> None:
    # 1, 1.0 and True are equal keys to a dict but print differently, so their warnings differ
    prints = {fingerprint("r", {"k": v}) for v in (1, 1.0, True)}
    assert len(prints) == 3
