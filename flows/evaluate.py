"""``evaluate_rules``: evaluate the rulebook over every record that arrived since the last run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.console import located
from flows.guard import require_safe_settings
from flows.store import store_engine
from integrations.i18n import _, translate
from integrations.settings import get_settings


@task(name="evaluate-batch", cache_policy=NONE, retries=1, retry_delay_seconds=2)
def evaluate_batch(now: datetime) -> dict[str, Any]:
    """One batch step: load the rulebook, evaluate what the sources' watermarks release, write warnings
    and outbox together. Gives way while a resident evaluator (``fenghuo evaluate --follow``) holds the
    evaluator's lease: scheduled runs never evaluate beside it."""
    from flows.live import live_parts
    from integrations.evaluation import evaluate_pending
    from integrations.store.lease import store_lease

    settings = get_settings()
    logger = get_run_logger()
    engine = store_engine()
    lease = store_lease(engine)
    if not lease.try_acquire():
        holder = lease.holder() or _("未知")
        logger.info(_("常驻评估 {holder} 持有租约：由它评估，本次运行不评估").format(holder=holder))
        return {"records": 0, "opened": 0, "raised": 0, "updated": 0, "late": 0, "rule_errors": [],
                "record_errors": [], "skipped_for": holder}
    try:
        parts = live_parts(settings)
        for error in parts.rulebook.errors:
            # A broken rule file stops only itself: the rest of the rulebook keeps running.
            logger.error(_("规则文件被拒绝：{error}").format(error=located(error)))
        report = evaluate_pending(engine, parts.rulebook, now=now, routing=parts.routing, timings=parts.timings,
                                  watch_sources=True, who=lease.holder() or "", kinds=parts.kinds)
    finally:
        lease.release()
    for problem in report.errors:  # quarantined, and a rulebook-error warning opened for each
        logger.error(_("记录未能评估（已隔离）：{problem}").format(problem=translate(problem)))
    logger.info(_("已评估 {records} 条记录：新开 {opened}，升级 {raised}，更新 {updated}（规则库 {version}）").format(
        records=report.records, opened=report.opened, raised=report.raised, updated=report.updated,
        version=parts.rulebook.version[:12]))
    return {"records": report.records, "opened": report.opened, "raised": report.raised,
            "updated": report.updated, "late": report.late, "rule_errors": [str(e) for e in parts.rulebook.errors],
            "record_errors": report.errors}


@flow(name="evaluate_rules", log_prints=True)
def evaluate_rules(now: datetime | None = None) -> dict[str, Any]:
    """Evaluate the rules over new records; open, update and raise warnings; route them."""
    require_safe_settings()
    return evaluate_batch(now or datetime.now(UTC))
