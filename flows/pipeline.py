"""``run_pipeline``: ingest, then evaluate, then escalate — the whole beacon chain once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow

from flows.escalate import escalate_warnings
from flows.evaluate import evaluate_rules
from flows.guard import ADMIN_HOOKS, require_safe_settings
from flows.ingest import ingest_records


@flow(name="run_pipeline", log_prints=True, **ADMIN_HOOKS)
def run_pipeline(sources: list[str] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Pull new records from the sources, evaluate the rules over them, route and deliver warnings."""
    require_safe_settings()
    at = now or datetime.now(UTC)
    ingested = ingest_records(sources=sources, now=at)
    evaluated = evaluate_rules(now=at)
    escalated = escalate_warnings(now=at)
    return {"ingested": ingested, "evaluated": evaluated, "escalated": escalated}
