"""A record as the store keeps it: its canonical attribute text and content hash computed once.

The canonical text of a record's attributes is JSON with sorted keys, no spaces and non-ASCII kept
(``json.dumps(..., sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)``); the content
hash is SHA-256 of kind, time, region and that text. Stored hashes are compared with new ones to tell an
unchanged re-delivery from a change, so this form must never change. orjson writes the very same bytes
for the values it is used on (strings, bools, ``None``, 64-bit ints and floats printed without a small
exponent — ``tests/integrations/store/test_prepared.py`` proves it on generated values) at a tenth of the cost; any
other value goes through the standard encoder.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from domain.records import Record

# One encoder for every record: json.dumps with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
_INF = float("inf")
_INT_BOUND = 1 << 63


def _orjson_writes_it(attributes: dict[str, Any]) -> bool:
    """Whether orjson writes ``attributes`` as the stdlib does (the values it is known to agree on)."""
    for value in attributes.values():  # inlined type tests: this runs for every record ingested
        t = type(value)
        if t is str or t is bool or value is None:
            continue
        if t is int:
            if -_INT_BOUND < value < _INT_BOUND:
                continue
        # repr() writes floats below 1e-4 as 1e-05, orjson as 0.00001; NaN and infinities differ too.
        elif t is float and (value == 0.0 or 1e-4 <= abs(value) < _INF):
            continue
        return False
    return True


def canonical_json(attributes: dict[str, Any]) -> str:
    """The canonical text of a record's attributes (see the module docstring)."""
    if _orjson_writes_it(attributes):
        try:
            return orjson.dumps(attributes, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        except orjson.JSONEncodeError:  # e.g. a lone surrogate in a string, which json writes escaped
            pass
    return _ENCODER.encode(attributes)


def hash_content(kind: str, at_timestamp: float, region: str, attrs_json: str) -> str:
    """SHA-256 (hex) of what a record says, from its kind, ``at.timestamp()``, region and canonical text.

    The one place the hashed form is written: kind, time, region and the canonical text, 0x1F between
    (the ingest's C twin, :mod:`integrations.ingest.speedups`, writes the same bytes).
    """
    digest = hashlib.sha256(f"{kind}\x1f{at_timestamp!r}\x1f{region}\x1f".encode())
    digest.update(attrs_json.encode("utf-8"))
    return digest.hexdigest()


class PreparedRecord(NamedTuple):
    """A valid record ready for :func:`~integrations.store.records.upsert_prepared` (a tuple: cheap to build)."""

    source: str
    id: str
    kind: str
    at: datetime
    """The event time (timezone-aware)."""
    region: str
    attributes: dict[str, Any]
    attrs_json: str
    content_hash: str
    late: bool = False
    at_utc: str = ""
    """``at`` as :func:`utc_text` writes it (``""``: not written yet; the SQLite insert writes it then)."""


def utc_text(value: datetime) -> str:
    """An aware datetime as SQLAlchemy stores it on SQLite: naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    # isoformat of the UTC time, without its "+00:00" (years are always written with 4 digits).
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def prepare(record: Record) -> PreparedRecord:
    """``record`` with its canonical attribute text, content hash and UTC time text (the reference: the
    ingest computes the same with its C twins, :mod:`integrations.ingest.twins`)."""
    attrs_json = canonical_json(record.attributes)
    h = hash_content(record.kind, record.at.timestamp(), record.region, attrs_json)
    at_utc = utc_text(record.at)
    return PreparedRecord(
        record.source,
        record.id,
        record.kind,
        record.at,
        record.region,
        record.attributes,
        attrs_json,
        h,
        record.late,
        at_utc,
    )
