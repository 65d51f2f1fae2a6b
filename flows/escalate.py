"""``escalate_warnings``: the SLA watch (escalate what nobody acknowledged in time, remind) and one
delivery sweep of the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.context import RoutingContext
from flows.guard import ADMIN_HOOKS, require_safe_settings
from flows.store import store_engine
from integrations.i18n import _
from integrations.settings import get_settings


@task(name="watch-sla", cache_policy=NONE)
def watch_sla(now: datetime) -> int:
    """Escalate unacknowledged warnings past their deadline and queue reminders; returns the count."""
    from integrations.sla import sla_sweep
    from integrations.store.db import session_scope

    routing = RoutingContext.load(get_settings())
    with session_scope(store_engine()) as session:
        steps = sla_sweep(session=session, policy=routing.policy, directory=routing.directory,
                          regions=routing.regions, now=now, templates=routing.templates,
                          links=routing.link_maker())
    return len(steps)


@task(name="deliver-outbox", cache_policy=NONE)
def deliver_outbox(now: datetime) -> dict[str, int]:
    """Release the notifications of ended silences, then send pending notifications whose time has come;
    failures retry later with backoff."""
    from flows.context import reminders_for
    from integrations.delivery import deliver_all, release_silences
    from integrations.notify.registry import build_channels

    settings = get_settings()
    channels = build_channels(settings)
    context = RoutingContext.load(settings)
    # Held notifications of silences that ended go out in this same sweep (once each, their own keys),
    # with the reminders to the authors of long silences about to end.
    release_silences(store_engine(), now, reminders_for(settings, context))
    # Blue and yellow wait for their digest window (escalation.yaml); orange and red go at once.
    window = context.policy.digest_window
    # Sweep until nothing due is left: each sweep commits row by row, so a crash re-sends at most one.
    return deliver_all(store_engine(), channels, now=now, window=window)


@flow(name="escalate_warnings", log_prints=True, **ADMIN_HOOKS)
def escalate_warnings(now: datetime | None = None) -> dict[str, Any]:
    """SLA watch then delivery: every minute in production."""
    require_safe_settings()
    at = now or datetime.now(UTC)
    escalated = watch_sla(at)
    delivered = deliver_outbox(at)
    get_run_logger().info(_("已升级 {escalated} 条；投递 {delivered}").format(escalated=escalated, delivered=delivered))
    return {"escalated": escalated, **delivered}
