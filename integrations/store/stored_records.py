"""Stored records read back: the columns a record is read from, and the record built from a row.

Every record in the store was validated when it came in, so a record read back is built without
validating it again (the way ``model_construct`` does, at half its cost): reading records back is most of
the cost of a year's backtest, a rule edit's rebuild and a restart's replay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from domain.records import Record
from integrations.store.models import RecordRow

__all__ = ["RECORD_COLUMNS", "SEQ_RECORD_COLUMNS", "record_of", "seq_record", "stored_record"]

_REC: sa.Table = RecordRow.__table__  # type: ignore[attr-defined]
RECORD_COLUMNS = (_REC.c.kind, _REC.c.source, _REC.c.source_id, _REC.c.at, _REC.c.region, _REC.c.attributes,
                  _REC.c.late)
"""The columns a record is read back from (:func:`stored_record`)."""
SEQ_RECORD_COLUMNS = (_REC.c.seq, *RECORD_COLUMNS)
"""The record's columns after its arrival sequence (:func:`seq_record`)."""

_FIELDS = set(Record.model_fields)
"""Every field of a record: the fields set of every record read back, one set shared by all. Nothing adds to
it: a record is frozen, and ``model_copy`` gives the copy a set of its own before adding to it."""
_set = object.__setattr__


def record_of(kind: str, source: str, id: str, at: datetime, region: str, attributes: dict[str, Any],
              late: bool) -> Record:
    """A stored (already validated) record from its values, not validated again."""
    r = Record.__new__(Record)
    _set(r, "__dict__", {"kind": kind, "source": source, "id": id, "at": at, "region": region,
                         "attributes": attributes, "late": late})
    _set(r, "__pydantic_fields_set__", _FIELDS)
    _set(r, "__pydantic_extra__", None)
    _set(r, "__pydantic_private__", None)
    return r


def stored_record(row: Any) -> Record:
    """A row of :data:`RECORD_COLUMNS` (or :data:`SEQ_RECORD_COLUMNS`) as a record."""
    return record_of(row.kind, row.source, row.source_id, row.at, row.region, row.attributes or {}, bool(row.late))


def seq_record(row: Any) -> tuple[int, Record]:
    """A row of :data:`SEQ_RECORD_COLUMNS` as its ``seq`` and record."""
    return int(row.seq), stored_record(row)
