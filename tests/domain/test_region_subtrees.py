"""A region's subtree as a range of codes (:func:`domain.regions.subtree_prefix`), what a store reads by."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.regions import is_within, subtree_prefix


def _code(draw: st.DrawFn) -> str:
    """A code at any tier near 510104: city, district, street, community or grid."""
    district = draw(st.sampled_from(["00", "04", "05"]))
    street = draw(st.sampled_from(["000", "001", "002"])) if district != "00" else "000"
    community = draw(st.sampled_from(["000", "001", "010"])) if street != "000" else "000"
    grid = draw(st.sampled_from(["", "", "001", "002"])) if community != "000" else ""
    return f"5101{district}{street}{community}{grid}"


codes = st.composite(_code)()


@given(codes, codes)
def test_a_code_is_within_a_root_exactly_when_it_lies_in_the_roots_range(code: str, root: str) -> None:
    prefix = subtree_prefix(root)
    assert is_within(code, root) == (prefix <= code < prefix + ":")
