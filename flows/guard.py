"""The flows' boundary: refuse weak production secrets on entry; tell the administrators of failed runs.

Every flow calls :func:`require_safe_settings` first. A run of a deployment (``serve``, a worker) is
production unless ``FENGHUO_ENV`` says otherwise; a flow called directly (the demo, ``fenghuo run``,
tests) is development unless ``FENGHUO_ENV=production``.

The scheduled flows carry :data:`ADMIN_HOOKS` (``on_failure``, ``on_crashed``, ``on_completion``): the
first failure or crash of a streak is sent to the administrators through our own channels
(:mod:`integrations.ops_alerts`), later ones are not, and a completed run ends the streak. Hooks act on
top-level runs only: a failing subflow fails its parent, which is told once.

Importing this module (every flow module does) guards Prefect's temporary server
(:func:`integrations.prefect_server.guard_temporary_server`).
"""

from __future__ import annotations

import logging
from typing import Any

from integrations.i18n import _
from integrations.prefect_server import guard_temporary_server
from integrations.settings import Environment, get_settings

log = logging.getLogger(__name__)

# A process that runs our flows without a configured server (the demo, `fenghuo run`, tests) gets Prefect's
# temporary server; it must not outlive the process, kill -9 included.
guard_temporary_server()


def require_safe_settings() -> Environment:
    """Raise :class:`~integrations.settings.InsecureSettingsError` in production with weak secrets."""
    from prefect.runtime import deployment

    default: Environment = "production" if deployment.id else "development"
    return get_settings().require_safe_for(default)


def streak_key(flow: Any, flow_run: Any) -> str:
    """What a failure streak is counted per: the deployment when there is one, else the flow."""
    return f"{flow.name}@{flow_run.deployment_id}" if flow_run.deployment_id else str(flow.name)


def _is_top_level(flow_run: Any) -> bool:
    return getattr(flow_run, "parent_task_run_id", None) is None


def on_run_failed(flow: Any, flow_run: Any, state: Any) -> None:
    """State hook (failed or crashed): tell the administrators if this starts a failure streak."""
    from integrations.ops_alerts import notify_admins, streaks_for

    if not _is_top_level(flow_run):
        return
    try:
        settings = get_settings()
        key = streak_key(flow, flow_run)
        if not streaks_for(settings).observe(key, ok=False):
            return
        status = _("崩溃") if state.is_crashed() else _("失败")
        subject = _("【烽火运维】流程 {flow} 运行{status}").format(flow=flow.name, status=status)
        body = _("流程 {flow} 的运行 {run}（{id}）{status}：{detail}。请在 Prefect 界面查看该运行的日志并排除故障。"
                 "同一流程再次成功运行之前，不再重复提醒。").format(
            flow=flow.name, run=flow_run.name, id=flow_run.id, status=status, detail=state.message or _("无详情"))
        notify_admins(settings, key, subject, body)
    except Exception:  # a hook must never fail the run it reports on; Prefect would swallow it anyway
        log.exception(_("未能通知管理员流程 {flow} 运行失败").format(flow=flow.name))


def on_run_completed(flow: Any, flow_run: Any, state: Any) -> None:
    """State hook (completed): a success ends the failure streak of this flow or deployment."""
    from integrations.ops_alerts import streaks_for

    if not _is_top_level(flow_run):
        return
    try:
        streaks_for(get_settings()).observe(streak_key(flow, flow_run), ok=True)
    except Exception:
        log.exception(_("未能结束流程 {flow} 的连续失败计数").format(flow=flow.name))


ADMIN_HOOKS: dict[str, Any] = {
    "on_failure": [on_run_failed], "on_crashed": [on_run_failed], "on_completion": [on_run_completed]}
"""Keyword arguments for ``@flow`` of every scheduled flow."""
