"""Records: what departmental systems report, after validation and pseudonymisation.

A record has a kind (``petition``, ``dispute``…), the source it came from and its id there, the event
time ``at`` (timezone-aware), the finest region code, and the kind's own fields in ``attributes``.
Order is ``(at, source, id)``: deterministic, so a backtest and a live run agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from domain.regions import ancestors, validate_code


class Record(BaseModel):
    """One validated record. Immutable; a changed record at its source is a new version."""

    model_config = ConfigDict(frozen=True)

    kind: str
    source: str = "test"
    id: str
    at: AwareDatetime
    region: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    late: bool = False

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return validate_code(value)

    @property
    def key(self) -> tuple[datetime, str, str]:
        """The engine's order: ``at``, then ``source``, then ``id``."""
        return (self.at, self.source, self.id)

    @property
    def ref(self) -> str:
        """``source/id``: how explanations and warnings name the record."""
        return f"{self.source}/{self.id}"

    def fields(self) -> dict[str, Any]:
        """Every field a rule may test: the record's own, the common ones and the region's tiers."""
        out: dict[str, Any] = dict(self.attributes)
        out.update(ancestors(self.region))
        out.update(kind=self.kind, source=self.source, id=self.id, at=self.at, region=self.region)
        return out
