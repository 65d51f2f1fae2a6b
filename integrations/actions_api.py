"""The responders' HTTP endpoint (FastAPI): the web workspace with its one-click link pages
(:mod:`integrations.workspace`), the departments' push intake (:mod:`integrations.intake_api`) and the
restricted CAP feed (:mod:`integrations.cap_api`: personal feed tokens, the workspace session, or the
operator's city-wide ``settings.cap_feed_token``).

``GET /a/{token}`` checks a link and shows the warning with its one action; ``POST /a/{token}`` (the
button) acts through :mod:`integrations.store.actions`, which checks the responder's jurisdiction and
audits the change. Acting on GET would be simpler, but IM clients (WeCom, DingTalk, Feishu) unfurl links
and mail gateways scan them with GETs: a warning would be "acknowledged" by a robot before any person read
it, and its escalation would stop. The system warns; humans decide — so a person presses the button.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import FastAPI

from domain.responders import ResponderDirectory
from integrations.cap_api import cap_router
from integrations.intake_api import intake_router
from integrations.oidc import IdentityProvider
from integrations.settings import Settings
from integrations.workspace.router import workspace_router


def create_app(
    engine: sa.Engine,
    settings: Settings,
    *,
    directory: ResponderDirectory | None = None,
    clock: Callable[[], datetime] | None = None,
    oidc: IdentityProvider | None = None,
) -> FastAPI:
    """The responders' app over the store ``engine``; responders from ``directory`` (default: the
    ``responders`` setting's file), time from ``clock`` (default: now, UTC), single sign-on through ``oidc``
    (default: the provider ``settings.oidc_issuer`` names, if any)."""
    app = FastAPI(title="烽火 一键处置", docs_url=None, redoc_url=None, openapi_url=None)
    people = directory if directory is not None else ResponderDirectory.load(settings.responders)
    now_of = clock or (lambda: datetime.now(UTC))
    app.include_router(workspace_router(engine, settings, directory=people, clock=now_of, oidc=oidc))
    app.include_router(intake_router(engine, settings, clock=now_of))
    app.include_router(cap_router(engine, settings, directory=people, clock=now_of))
    return app
