"""How deeply a department's item nests, and a copy of it cut to a depth anything can walk.

Python's parsers and walkers recurse: ``json.loads`` of 100,000 ``[`` raises ``RecursionError``, and so
do ``repr``, ``json.dumps`` and the masking of a list nested a few hundred deep. No department's record
nests more than a few levels, so an item deeper than :data:`MAX_DEPTH` is refused at the door
(``too_deep``) before anything recursive touches it, and what is kept of it is :func:`clipped`.
Both functions here walk with a bounded depth or an explicit stack, never the interpreter's.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CLIPPED", "MAX_DEPTH", "clipped", "too_deep"]

MAX_DEPTH = 32
"""Containers (JSON arrays and objects) an item may nest, the item itself counted: far above any
department's record, far below the interpreter's recursion limit (about 1,000 frames)."""

CLIPPED = "…(嵌套过深 nested too deep)"
"""What stands for a container below :data:`MAX_DEPTH` in a :func:`clipped` copy."""


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True if ``value`` nests more than ``limit`` lists and dicts (tuples count as lists).

    >>> too_deep([[1]], 2), too_deep([[1]], 1), too_deep("[[[", 1)
    (False, True, False)
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        # Only containers are pushed: a wide flat list costs one pass, not a stack entry per element.
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list, tuple)))
    return False


def clipped(value: Any, limit: int = MAX_DEPTH) -> Any:
    """``value`` with every container below ``limit`` levels replaced by :data:`CLIPPED` (a new object;
    ``value`` itself untouched). Recurses at most ``limit`` levels.

    >>> clipped({"a": [[1], 2]}, 2)
    {'a': ['…(嵌套过深 nested too deep)', 2]}
    """
    if not isinstance(value, (dict, list, tuple)):
        return value
    if limit <= 0:
        return CLIPPED
    if isinstance(value, dict):
        return {k: clipped(v, limit - 1) for k, v in value.items()}
    return [clipped(v, limit - 1) for v in value]
