"""The situation report as plain JSON-ready data, for ``fenghuo report --json`` and for the outbox."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from domain.situation.compute import SituationReport
from domain.situation.sla import DeadlineStats


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, DeadlineStats):
        return {"met": value.met, "breached": value.breached, "pending": value.pending,
                "judged": value.judged, "rate": value.rate, "breached_ids": list(value.breached_ids)}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def report_to_dict(report: SituationReport) -> dict[str, Any]:
    """Every figure of ``report`` as JSON-ready data (levels by name, times in ISO 8601)."""
    data: dict[str, Any] = _plain(report)
    return data
