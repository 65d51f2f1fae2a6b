"""The evaluator's state as compact bytes: msgpack, zlib-compressed, behind a small header.

:meth:`rules.engine.evaluate.Evaluator.snapshot` is plain data (mappings, lists, strings, numbers, None);
msgpack writes and reads it several times faster than JSON and smaller, and never runs code on the way in
(unlike ``pickle``), so a checkpoint read back from the store cannot do more than be wrong. zlib at its
fastest level halves the bytes again for the price of a few percent of the time (bench/README.md).

Layout: ``b"FHS"`` + a format byte (1: msgpack, 2: msgpack then zlib) + the payload.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import msgpack

from rules.engine.gc_pause import gc_paused

__all__ = ["StateFormatError", "decode_state", "encode_state"]

_MAGIC = b"FHS"
_PLAIN = 1
_ZLIB = 2


class StateFormatError(ValueError):
    """The bytes are not a state written by :func:`encode_state` (or were damaged)."""


def encode_state(state: Mapping[str, Any], *, compress: bool = True) -> bytes:
    """``state`` (plain data) as bytes; ``compress``: zlib at level 1 (fast, about half the size)."""
    packed: bytes = msgpack.packb(state, use_bin_type=True)
    if compress:
        return _MAGIC + bytes([_ZLIB]) + zlib.compress(packed, 1)
    return _MAGIC + bytes([_PLAIN]) + packed


def decode_state(data: bytes) -> dict[str, Any]:
    """The state :func:`encode_state` wrote; :class:`StateFormatError` for anything else."""
    if len(data) < 4 or data[:3] != _MAGIC or data[3] not in (_PLAIN, _ZLIB):
        raise StateFormatError("not an evaluator state (unknown header)")
    body = data[4:]
    try:
        if data[3] == _ZLIB:
            body = zlib.decompress(body)
        # Keys may be numbers where the engine keys by number; lists stay lists (what JSON gave back).
        # Collections paused: a month's state is millions of new containers, and each collection walks them.
        with gc_paused():
            out = msgpack.unpackb(body, raw=False, strict_map_key=False, use_list=True)
    except (zlib.error, ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise StateFormatError(f"damaged evaluator state: {exc}") from exc
    if not isinstance(out, dict):
        raise StateFormatError("not an evaluator state (not a mapping)")
    return out
