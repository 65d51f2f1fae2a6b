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
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import orjson

from domain.records import Record
from integrations.ingest import speedups

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
    """SHA-256 (hex) of what a record says, from its kind, ``at.timestamp()``, region and canonical text."""
    return _content_digest(kind, at_timestamp, region, attrs_json.encode("utf-8"))


def _content_digest(kind: str, at_timestamp: float, region: str, attrs_utf8: bytes) -> str:
    # The one place the hashed form is written: kind, time, region and the canonical text, 0x1F between.
    digest = hashlib.sha256(f"{kind}\x1f{at_timestamp!r}\x1f{region}\x1f".encode())
    digest.update(attrs_utf8)
    return digest.hexdigest()


def canonical_and_hash(kind: str, at_timestamp: float, region: str, attributes: dict[str, Any]) -> tuple[str, str]:
    """``(canonical_json(attributes), hash_content(kind, at_timestamp, region, that text))`` at a fraction
    of the cost: in C (:mod:`integrations.ingest.speedups`) when it is built, else :func:`canonical_and_hash_py`."""
    native = speedups.canonical_and_hash
    if native is not None:
        out = native(kind, at_timestamp, region, attributes)
        if out is not None:
            return out
    return canonical_and_hash_py(kind, at_timestamp, region, attributes)


def canonical_and_hash_py(
    kind: str, at_timestamp: float, region: str, attributes: dict[str, Any]
) -> tuple[str, str]:
    """:func:`canonical_and_hash` in Python, at half the cost of its two parts (the C code's twin).

    The hash is fed orjson's UTF-8 bytes as they come, so the text is neither encoded back for it nor
    copied into a longer string first (the ingest computes both for every record).
    """
    if _orjson_writes_it(attributes):
        try:
            data = orjson.dumps(attributes, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass
        else:
            return data.decode("utf-8"), _content_digest(kind, at_timestamp, region, data)
    text = _ENCODER.encode(attributes)
    return text, hash_content(kind, at_timestamp, region, text)


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


_EPOCH_DAY = date(1970, 1, 1)
_LAST_TS = 4_102_444_800.0  # 2100-01-01: below it a float timestamp is exact to well under 0.5 µs
_DAYS: dict[int, str] = {}
_HOUR_MINUTE = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
_SECOND = [f"{s:02d}." for s in range(60)]


def utc_text_of(at: datetime, ts: float) -> str:
    """:func:`utc_text` of ``at``, given ``ts = at.timestamp()``: from the number, at half the cost.

    The ingest has the timestamp anyway (for the content hash). Exact from 1970 to 2099: a timestamp
    there is within a quarter microsecond of the true time, so rounding recovers the microsecond
    (``tests/integrations/store/test_prepared.py`` checks it against :func:`utc_text`); other times take that way.
    """
    if not 0.0 <= ts < _LAST_TS:
        return utc_text(at)
    whole = int(ts)
    # Whole seconds (most departments send no fraction) need neither the rounding nor the formatting.
    micro = 0 if ts == whole else round((ts - whole) * 1_000_000)
    if micro == 1_000_000:
        whole, micro = whole + 1, 0
    days, second = divmod(whole, 86_400)
    day = _DAYS.get(days)
    if day is None:  # at most one entry per day up to 2100: 47,482
        day = _DAYS[days] = f"{(_EPOCH_DAY + timedelta(days)).isoformat()} "
    minute, second = divmod(second, 60)
    if micro == 0:
        return f"{day}{_HOUR_MINUTE[minute]}{_SECOND[second]}000000"
    return f"{day}{_HOUR_MINUTE[minute]}{_SECOND[second]}{micro:06d}"


def times_of_py(at: datetime) -> tuple[float, str]:
    """``(at.timestamp(), utc_text(at))``: the Python twin of the C ``times_of`` (see :func:`times_of`)."""
    ts = at.timestamp()
    return ts, utc_text_of(at, ts)


def times_of(at: datetime) -> tuple[float, str]:
    """``(at.timestamp(), utc_text(at))`` of an aware datetime: the content hash's time and SQLite's text.

    In C (:mod:`integrations.ingest.speedups`) for a fixed UTC offset in 1970–2099, where it is built; else in Python.
    """
    native = speedups.times_of
    if native is not None:
        out = native(at)
        if out is not None:
            return out
    return times_of_py(at)


def prepare(record: Record) -> PreparedRecord:
    """``record`` with its canonical attribute text, content hash and UTC time text."""
    ts, at_utc = times_of(record.at)
    attrs_json, h = canonical_and_hash(record.kind, ts, record.region, record.attributes)
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
