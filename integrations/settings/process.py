"""The process environment: the only place Fenghuo writes ``os.environ`` (Prefect reads its settings there)."""

from __future__ import annotations

import os

from integrations.settings.model import get_settings
from integrations.settings.secrets import Environment


def quiet_prefect(log_level: str = "WARNING") -> None:
    """Switch off Prefect's analytics and telemetry before Prefect is imported.

    This module is the only one that writes process environment: Prefect reads its own settings from it, and
    without these it tries to reach the network.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", log_level)
    # The temporary server of `demo` and the flows' tests needs more than Prefect's 20 s on a loaded machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")



def export_env(env: Environment) -> None:
    """Set FENGHUO_ENV for this process and every child it starts (flow runs of ``serve``)."""
    os.environ["FENGHUO_ENV"] = env
    get_settings.cache_clear()


def child_env(**overrides: str) -> dict[str, str]:
    """The environment for a child process we start (a Prefect server): ours, quieted, plus overrides.

    Kept here so that this module stays the only one that touches ``os.environ``.
    """
    quiet_prefect()
    return {**os.environ, **overrides}
