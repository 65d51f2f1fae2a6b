"""Messages to responders, in Chinese (or English, ``FENGHUO_LANG=en``): a subject line and a plain-text
body, laid out by the Jinja2 templates of :mod:`integrations.notify.templates` — this module only builds
the context (:mod:`integrations.notify.message_context`) and renders.

Every personal identifier (ID-card and phone numbers and the like) is masked with
:func:`domain.privacy.mask` before a message leaves this module; region codes stay readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from domain.regions import RegionDirectory
from integrations.i18n import N_
from integrations.notify.message_context import Rendered, beijing, colour, node_label, place, warning_context
from integrations.notify.templates import MessageTemplates, default_templates
from integrations.settings import Settings, get_settings
from integrations.store.models import WarningRow

__all__ = ["Rendered", "action_links", "beijing", "colour", "node_label", "place", "render"]


def render(
    warning: WarningRow,
    *,
    step: str,
    recipient: str,
    regions: RegionDirectory,
    leadership: str = N_("市领导值班"),
    links: Mapping[str, str] | None = None,
    channel: str | None = None,
    templates: MessageTemplates | None = None,
) -> Rendered:
    """Subject and body of the notification for ``warning`` at routing ``step`` (``open``,
    ``raise-orange``, ``escalate-1``, ``remind-2``, ``resolve``…) sent to ``recipient`` (a responder id),
    with one-click ``links`` (``{"ack": url, "resolve": url}``) when given: the ``templates``' layout for
    ``channel`` (None: the one for every channel; no templates: the settings', :func:`default_templates`)."""
    context = warning_context(warning, step=step, recipient=recipient, regions=regions, leadership=leadership,
                              links=links)
    return (templates or default_templates()).render(channel, step, context)


def action_links(
    warning_id: int, responder: str, now: datetime, settings: Settings | None = None
) -> dict[str, str]:
    """Signed one-click links (``integrations.links``) for ``responder`` to acknowledge or resolve the
    warning, valid for ``settings.link_ttl_s`` from ``now``; pass as ``integrations.route.Routing(links=...)``."""
    from integrations.links import make_link  # only deployments that send links need the module

    s = settings or get_settings()
    expires = now + timedelta(seconds=s.link_ttl_s)
    return {action: make_link(s.public_base_url, warning_id, action, responder, expires, secret=s.link_secret)
            for action in ("ack", "resolve")}
