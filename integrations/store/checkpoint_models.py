"""The tables of cheap durability (issue 17): the evaluator's checkpoint and the journal of its batches.

The full state is written only now and then (``evaluator_checkpoint``); each batch commits one small
journal row (``evaluator_batch``): the position after it and the warnings resolved just before it. The
store is the log: the state after any committed batch is the checkpoint plus the journal's batches after
it, replayed from the stored records (:mod:`integrations.store.checkpoint`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from integrations.store.columns import _dt, _json, utcnow


class EvaluatorCheckpointRow(SQLModel, table=True):
    """The evaluator's full state at a position: msgpack + zlib bytes (:mod:`rules.engine.state_codec`)."""

    __tablename__ = "evaluator_checkpoint"

    name: str = Field(primary_key=True, max_length=50)
    rulebook_version: str = Field(max_length=64)
    consumed_seq: int = 0
    watermark: datetime | None = _dt(default=None, nullable=True)
    journal_id: int = Field(default=0, description="The last journal row the state includes.")
    state: bytes = Field(sa_type=sa.LargeBinary, default=b"")
    size_bytes: int = 0
    written_at: datetime = _dt(default_factory=utcnow)
    written_by: str = Field(default="", max_length=200)


class EvaluatorBatchRow(SQLModel, table=True):
    """One committed batch of live evaluation: the position after it and what was resolved before it."""

    __tablename__ = "evaluator_batch"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50, index=True)
    consumed_seq: int = 0
    watermark: datetime | None = _dt(default=None, nullable=True)
    resolved: list[str] = _json(default_factory=list, description="Fingerprints resolved before the batch.")
    records: int = 0
    committed_at: datetime = _dt(default_factory=utcnow)
