"""A record as the store keeps it: its canonical attribute text and content hash computed once.

The canonical text of a record's attributes is JSON with sorted keys, no spaces and non-ASCII kept
(``json.dumps(..., sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)``); the content
hash is SHA-256 of kind, time, region and that text. Stored hashes are compared with new ones to tell an
unchanged re-delivery from a change, so this form must never change. This module is the reference;
the ingest's one fast path is the C twin (:mod:`integrations.ingest.twins`), which writes the same bytes
for the common case and leaves the rest to :func:`canonical_json` (``tests/integrations/ingest/
test_speedups.py`` compares them on generated values). (A third writer, orjson for the values it agrees
on, was dropped: where C is built it only ran for what C declines — nested values, lone surrogates,
NaN, records of over 64 fields — and declined nearly all of that itself.)
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

from domain.records import Record

# One encoder for every record: json.dumps with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def canonical_json(attributes: dict[str, Any]) -> str:
    """The canonical text of a record's attributes (see the module docstring)."""
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
