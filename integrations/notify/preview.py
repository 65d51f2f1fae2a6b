"""What a step of a warning would send over a channel, laid out by the templates — for
``fenghuo notifications preview``; nothing is written or sent."""

from __future__ import annotations

from domain.regions import RegionDirectory
from integrations.notify.base import Notification
from integrations.notify.digest import DIGEST_STEP, render_digest
from integrations.notify.message_context import Rendered
from integrations.notify.render import render
from integrations.notify.templates import STEPS, MessageTemplates
from integrations.store.models import WarningRow


def preview(warning: WarningRow, *, step: str, channel: str, recipient: str, regions: RegionDirectory,
            templates: MessageTemplates) -> Rendered:
    """The message of ``step`` (``open``, ``remind-2``, ``digest``, ``resolve``…) for ``warning`` over
    ``channel``. A ``digest`` is shown with the warning's ``open`` message as its only member."""
    if step.split("-")[0] not in STEPS:
        raise ValueError(step)
    if step != DIGEST_STEP:
        return render(warning, step=step, recipient=recipient, regions=regions, channel=channel,
                      templates=templates)
    own = render(warning, step="open", recipient=recipient, regions=regions, channel=channel, templates=templates)
    member = Notification(idempotency_key=f"{warning.id}:open:{recipient}:{channel}", warning_id=warning.id,
                          step="open", recipient=recipient, channel=channel, level=warning.level,
                          subject=own.subject, body=own.body)
    return render_digest([member], None, channel=channel, templates=templates)
