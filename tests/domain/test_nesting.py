"""domain.nesting: the depth of an item, found without recursion, and a copy cut to a walkable depth."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.nesting import CLIPPED, MAX_DEPTH, clipped, too_deep

JSON = st.recursive(st.none() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
                    max_leaves=30)


def depth(value: Any) -> int:
    """The reference: containers nested, the value itself counted (recursive: only for small values)."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def nested(levels: int) -> list[Any]:
    """``levels`` lists inside each other, built without recursion."""
    out: list[Any] = []
    for _ in range(levels - 1):
        out = [out]
    return out


@given(JSON, st.integers(0, 8))
def test_too_deep_is_depth_over_the_limit(value: Any, limit: int) -> None:
    assert too_deep(value, limit) == (depth(value) > limit)


@given(JSON, st.integers(1, 8))
def test_a_clipped_copy_is_within_the_limit_and_equal_where_it_was(value: Any, limit: int) -> None:
    cut = clipped(value, limit)
    assert not too_deep(cut, limit)
    if not too_deep(value, limit):
        assert cut == value
    else:
        assert CLIPPED in json.dumps(cut, ensure_ascii=False)


def test_past_the_interpreter_stack_neither_recurses() -> None:
    value = {"a": nested(200_000)}
    assert too_deep(value) and not too_deep(nested(MAX_DEPTH))
    json.dumps(clipped(value))  # within reach of every recursive walker
    assert depth(clipped(value)) == MAX_DEPTH
