"""Message layouts as data: Jinja2 templates that replace the built-in text of a routing step, per step
and optionally per channel, in a sandbox.

A folder (``FENGHUO_TEMPLATES``, default ``integrations/data/templates``) holds ``<step>.j2`` (every
channel) and ``<channel>/<step>.j2`` (that channel only, preferred), ``<step>`` one of :data:`STEPS`. The
first line rendered is the subject, the rest the body. A step with no template keeps the built-in layout
(``integrations.notify.render``). Templates run in ``jinja2.sandbox.SandboxedEnvironment`` with strict
undefined names, and are checked when loaded — syntax, unknown step, and a trial render against a sample
warning — each error one line ``FILE:LINE: message``. Whatever they produce is masked like every message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from domain.privacy import mask
from domain.regions import RegionDirectory
from domain.warnings import Level
from integrations.notify.render import Rendered, beijing, colour, node_label, place
from integrations.store.models import WarningRow

STEPS = ("open", "raise", "escalate", "remind", "overdue", "repeat", "stale")
"""The routing steps a template may lay out (``raise-orange`` is ``raise``, ``remind-2`` is ``remind``…)."""


class TemplateFileError(ValueError):
    """Templates that cannot be used; the message is one ``FILE:LINE: message`` line per problem."""


@dataclass(frozen=True)
class MessageTemplates:
    """The loaded templates by (channel or None, step)."""

    by_key: Mapping[tuple[str | None, str], Template] = field(default_factory=dict)

    def find(self, channel: str | None, step: str) -> Template | None:
        """The template for ``channel`` and a step name such as ``remind-2``: the channel's own, else the
        one for every channel, else None (the built-in layout)."""
        kind = step.split("-")[0]
        return self.by_key.get((channel, kind)) or self.by_key.get((None, kind))

    def __bool__(self) -> bool:
        return bool(self.by_key)


def context_of(warning: WarningRow, *, step: str, recipient: str, regions: RegionDirectory,
               leadership: str = "市领导值班", links: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What a template may name: the warning's fields as responders read them (Beijing time)."""
    return {
        "id": warning.id, "rule": warning.rule, "title": warning.title or warning.rule, "level": warning.level,
        "level_cn": Level(warning.level).chinese, "colour": colour(warning.level), "summary": warning.summary,
        "explanation": warning.explanation, "region": warning.region, "place": place(warning.region, regions),
        "path": regions.path(warning.region), "status": warning.status,
        "holder": node_label(warning.tier, warning.route_region, regions, leadership),
        "first_at": beijing(warning.first_at), "last_at": beijing(warning.last_at),
        "occurrences": warning.occurrences, "ack_due_at": beijing(warning.ack_due_at),
        "resolve_due_at": beijing(warning.resolve_due_at), "step": step, "recipient": recipient,
        "links": dict(links or {}),
    }


_SAMPLE = WarningRow(id=1, fingerprint="sample", rule="sample-rule", title="示例预警", level="orange",
                     region="510104001001", tier="district", route_region="510104000000",
                     first_at=datetime(2026, 1, 5, 1, tzinfo=UTC), last_at=datetime(2026, 1, 5, 2, tzinfo=UTC),
                     summary="示例摘要", explanation="示例说明")


def _line_of(tb: TracebackType | None, path: str) -> int:
    """The template line a render error came from (Jinja puts template frames in the traceback)."""
    line = 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def load_templates(folder: Path) -> MessageTemplates:
    """Load and check every template under ``folder`` (none, or no folder: every step built-in)."""
    if not folder.is_dir():
        return MessageTemplates()
    env = SandboxedEnvironment(loader=FileSystemLoader(str(folder)), undefined=StrictUndefined,
                               autoescape=False, keep_trailing_newline=False)
    found: dict[tuple[str | None, str], Template] = {}
    errors: list[str] = []
    sample = context_of(_SAMPLE, step="open", recipient="sample", regions=RegionDirectory())
    for path in sorted(folder.rglob("*.j2")):
        rel = path.relative_to(folder)
        kind = path.stem
        channel = rel.parts[0] if len(rel.parts) == 2 else None
        if kind not in STEPS or len(rel.parts) > 2:
            errors.append(f"{path}:1: unknown template {rel}; use <step>.j2 or <channel>/<step>.j2, "
                          f"step one of {', '.join(STEPS)}")
            continue
        try:
            template = env.get_template(rel.as_posix())
            template.render(**sample)
        except TemplateSyntaxError as exc:
            errors.append(f"{path}:{exc.lineno}: {exc.message}")
            continue
        except TemplateError as exc:
            errors.append(f"{path}:{_line_of(exc.__traceback__, str(path))}: {exc}")
            continue
        found[(channel, kind)] = template
    if errors:
        raise TemplateFileError("\n".join(errors))
    return MessageTemplates(found)


def render_with(template: Template, context: Mapping[str, Any]) -> Rendered:
    """Render: the first line is the subject, the rest the body; both masked."""
    text = template.render(**context)
    subject, _, body = text.strip("\n").partition("\n")
    return Rendered(subject=mask(subject.strip()), body=mask(body.strip("\n")))
