"""The fast path of :func:`rules.run.backtest.parse_jsonl`: a JSON line to a :class:`Record` in a few
microseconds, for the lines it can vouch for.

The reference is :func:`rules.run.backtest.reference_line` (``json`` + :func:`rules.run.testing.record_from_dict`
+ pydantic): the fast path answers only when the line is plainly good — orjson parses it, ``kind``,
``at``, ``region`` are strings, ``at`` an aware ISO time, the region a well-formed code, every attribute
accepted by its declared field — and builds the same record the reference would. Any other line (bad,
odd, or merely unusual: a number for a region, ``NaN``) gets ``None``, and the caller asks the reference,
so a rejected line has the reference's error word for word. ``tests/rules/test_fast_records.py`` holds
the two equal on generated lines, good and bad.

Why it is faster: orjson instead of ``json``; each region code and each (field, value) of the declared
text and whole-number fields checked once and remembered; the record built without running pydantic's
validators again on values already checked here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from domain.kinds import RecordKinds
from domain.records import Record
from domain.regions import validate_code

__all__ = ["FastLines"]

_FIELDS_SET = {"kind", "source", "id", "at", "region", "attributes"}
"""The fields the reference passes to ``Record(...)``: pydantic's ``model_fields_set`` of its records, one set
shared by every record made here (a record is frozen; ``model_copy`` copies the set before adding to it)."""
_MEMO_LIMIT = 1 << 17
_BIG = 2.0**63
"""orjson reads a whole number beyond 64 bits as a float (``json`` as an exact int): a float this large
may have been one, so its line goes to the reference."""
_MISSING = object()
_new = object.__new__
_set = object.__setattr__


class FastLines:
    """Parses JSON lines into records for one ``kinds``; remembers what it has checked (bounded)."""

    def __init__(self, kinds: RecordKinds | None) -> None:
        self.kinds = kinds
        self._regions: set[str] = set()
        """Region codes :func:`domain.regions.validate_code` accepted."""
        self._values: dict[str, dict[tuple[str, Any], Any]] = {}
        """kind → (field, value) → the coerced value, for text and whole numbers (a float is never
        remembered: 0.0 and -0.0 are equal keys but different values)."""

    def record(self, line: str, number: int) -> Record | None:
        """The record of ``line`` (``number``: its 1-based line number, the default ``id``), or ``None``
        when the reference must decide (including a blank line and every bad one)."""
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if type(data) is not dict:
            return None
        # orjson's dict is ours: the common fields are taken out of it, the rest are the attributes
        pop = data.pop
        kind, at, region = pop("kind", None), pop("at", None), pop("region", None)
        if type(kind) is not str or type(at) is not str or type(region) is not str:
            return None
        source, ident = pop("source", "test"), pop("id", number)
        if (type(source) is not str and _suspect(source)) or (type(ident) is not str and _suspect(ident)):
            return None
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            return None
        if when.tzinfo is None or when.utcoffset() is None:
            return None
        if region not in self._regions:
            try:
                validate_code(region)
            except ValueError:
                return None
            if len(self._regions) >= _MEMO_LIMIT:
                self._regions.clear()
            self._regions.add(region)
        kinds = self.kinds
        if kinds is not None and kind in kinds.kinds:
            attrs = self._coerce(kind, kinds, data)
            if attrs is None:
                return None
        else:
            attrs = data
            for v in data.values():
                if _suspect(v):
                    return None
        source, ident = str(source), str(ident)
        # pydantic would only check again what was checked above (types, aware time, region code)
        out = _new(Record)
        _set(out, "__dict__", {"kind": kind, "source": source, "id": ident, "at": when, "region": region,
                               "attributes": attrs, "late": False})
        _set(out, "__pydantic_fields_set__", _FIELDS_SET)
        _set(out, "__pydantic_extra__", None)
        _set(out, "__pydantic_private__", None)
        return out

    def _coerce(self, kind: str, kinds: RecordKinds, attrs: dict[str, Any]) -> dict[str, Any] | None:
        """:meth:`RecordKinds.coerce`, remembered per (field, value); ``None`` when it refuses."""
        fields = kinds.kinds[kind].fields
        memo = self._values.get(kind)
        if memo is None:
            memo = self._values[kind] = {}
        out: dict[str, Any] = {}
        for name, value in attrs.items():
            if value is None:
                if name not in fields:
                    return None
                continue
            t = type(value)
            key = (name, value) if t is str or t is int else None  # int and str values never compare equal
            if key is not None:
                got = memo.get(key, _MISSING)
                if got is not _MISSING:
                    out[name] = got
                    continue
            elif _suspect(value):
                return None
            spec = fields.get(name)
            if spec is None:
                return None
            try:
                got = spec.coerce(value)
            except (ValueError, TypeError):
                return None
            if key is not None:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[key] = got
            out[name] = got
        return out

def _suspect(value: Any) -> bool:
    """Whether ``value`` is or holds a float orjson may have read from a too-large whole number."""
    t = type(value)
    if t is float:
        return not -_BIG < value < _BIG
    return (t is list or t is dict) and _inexact(value)


def _inexact(value: Any) -> bool:
    """Whether a list or map (nested) holds a float orjson may have read from a too-large whole number."""
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is float and not -_BIG < v < _BIG:
            return True
        if t is list:
            stack.extend(v)
        elif t is dict:
            stack.extend(v.values())
    return False
