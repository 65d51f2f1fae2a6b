"""``evaluate_rules``: evaluate the rulebook over every record that arrived since the last run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.context import RoutingContext
from flows.guard import require_safe_settings
from flows.store import store_engine
from integrations.settings import get_settings


@task(name="evaluate-batch", cache_policy=NONE, retries=1, retry_delay_seconds=2)
def evaluate_batch(now: datetime) -> dict[str, Any]:
    """One batch step: load the rulebook, evaluate what is new, write warnings and outbox together."""
    from integrations.evaluation import evaluate_pending
    from rules.language.loader import load_rulebook

    settings = get_settings()
    rulebook = load_rulebook([settings.rulebook])
    logger = get_run_logger()
    for error in rulebook.errors:
        # A broken rule file stops only itself: the rest of the rulebook keeps running.
        logger.error("rule file rejected: %s", error)
    routing = RoutingContext.load(settings)
    report = evaluate_pending(store_engine(), rulebook, now=now, routing=routing.routing())
    for problem in report.errors:  # quarantined, and a rulebook-error warning opened for each
        logger.error("record left out: %s", problem)
    logger.info("evaluated %d records: %d opened, %d raised, %d updated (rulebook %s)",
                report.records, report.opened, report.raised, report.updated, rulebook.version[:12])
    return {"records": report.records, "opened": report.opened, "raised": report.raised,
            "updated": report.updated, "late": report.late, "rule_errors": [str(e) for e in rulebook.errors],
            "record_errors": report.errors}


@flow(name="evaluate_rules", log_prints=True)
def evaluate_rules(now: datetime | None = None) -> dict[str, Any]:
    """Evaluate the rules over new records; open, update and raise warnings; route them."""
    require_safe_settings()
    return evaluate_batch(now or datetime.now(UTC))
