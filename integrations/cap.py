"""Warnings as OASIS CAP 1.2 alerts.

A warning's public life is a chain of CAP messages: ``Alert`` when it opens, ``Update`` each time its
level rises (``<references>`` lists every earlier message of the chain), ``Cancel`` when it is resolved.
The chain is read from the warning's audit log (``opened`` / ``raised`` / ``resolved``), so rendering
the same warning twice gives the same identifiers: an identifier is stable per warning and message
number. Scope is ``Restricted`` by default (these are internal early warnings, not public broadcasts),
the severity comes from the level, the area from the region with its code as geocodes, and personal
identifiers in free text are masked.

The Atom feed of current alerts is in :mod:`integrations.cap_feed`; the parser in
:mod:`integrations.cap_parse`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from lxml import etree

from domain.privacy import mask
from domain.regions import RegionDirectory
from domain.warnings import Level
from integrations.cap_parse import CapAlert, CapArea, CapInfo, parse_cap
from integrations.cap_xml import CAP_NS, CapError, cap_time, to_string
from integrations.i18n import N_, translations
from integrations.settings import Settings, get_settings
from integrations.store.models import AuditRow, WarningRow
from integrations.wording import worded

__all__ = [
    "CapAlert", "CapArea", "CapError", "CapInfo", "CapMessage", "CapWarning", "build_alert", "cap_messages",
    "parse_cap", "render_cap", "render_chain", "render_message",
]

MsgType = Literal["Alert", "Update", "Cancel"]

# Social-order kinds are "Security" in CAP's vocabulary; accidents and public-safety incidents "Safety".
CATEGORY_BY_KIND: dict[str, str] = {
    "petition": "Security",
    "dispute": "Security",
    "hotline": "Security",
    "opinion": "Security",
    "incident": "Safety",
}
_URGENCY = {Level.blue: "Future", Level.yellow: "Expected", Level.orange: "Immediate", Level.red: "Immediate"}


@dataclass(frozen=True)
class CapWarning:
    """What CAP needs of a warning (a plain view, so rendering needs no session)."""

    id: int
    fingerprint: str
    rule: str
    title: str
    level: Level
    status: str
    region: str
    region_path: str
    first_at: datetime
    last_at: datetime
    opened_at: datetime
    summary: str = ""
    explanation: str = ""
    resolved_at: datetime | None = None
    resolve_due_at: datetime | None = None
    kind: str = ""

    @classmethod
    def from_row(
        cls, row: WarningRow, *, regions: RegionDirectory | None = None, kind: str = ""
    ) -> CapWarning:
        """The view of a stored warning; ``regions`` names the area (else the code is the name). Texts the
        system wrote (an error warning's title, a source-stale explanation) are worded in the language in force."""
        if row.id is None:
            raise ValueError("a warning must be stored (have an id) before it is rendered as CAP")
        return cls(
            id=row.id, fingerprint=row.fingerprint, rule=row.rule, title=worded(row.title or row.rule),
            level=Level(row.level), status=row.status, region=row.region,
            region_path=(regions or RegionDirectory()).path(row.region),
            first_at=row.first_at, last_at=row.last_at, opened_at=row.opened_at,
            summary=worded(row.summary), explanation=worded(row.explanation), resolved_at=row.resolved_at,
            resolve_due_at=row.resolve_due_at, kind=kind,
        )

    @property
    def category(self) -> str:
        """CAP category: by record kind when known, else by a kind named in the rule id
        (``collective-petition`` → petition), else Security."""
        words = [self.kind, *re.split(r"[-_.\s]+", self.rule)]
        return next((CATEGORY_BY_KIND[w] for w in words if w in CATEGORY_BY_KIND), "Security")


@dataclass(frozen=True)
class CapMessage:
    """One message of a warning's CAP chain."""

    seq: int
    msg_type: MsgType
    sent: datetime
    level: Level

    def identifier(self, warning: CapWarning) -> str:
        """Stable identifier: warning id, fingerprint prefix (unique across stores) and message number."""
        return f"fenghuo-w{warning.id}-{warning.fingerprint[:12]}-{self.seq}"


def cap_messages(warning: CapWarning, audits: Iterable[AuditRow] = ()) -> list[CapMessage]:
    """The warning's chain of CAP messages, oldest first, read from its audit log.

    ``opened`` → Alert, ``raised`` → Update (at the new level), ``resolved`` → Cancel. Without an audit
    log the chain is synthesised from the warning itself (opened, and resolved if it is).
    """
    out: list[CapMessage] = []
    level = warning.level
    for row in sorted(audits, key=lambda a: (a.at, a.id or 0)):
        detail: dict[str, Any] = row.detail or {}
        if row.action == "opened" and not out:
            level = Level(detail.get("level", warning.level.value))
            out.append(CapMessage(1, "Alert", row.at, level))
        elif row.action == "raised" and out and out[-1].msg_type != "Cancel":
            level = Level(detail.get("to", warning.level.value))
            out.append(CapMessage(len(out) + 1, "Update", row.at, level))
        elif row.action == "resolved" and out and out[-1].msg_type != "Cancel":
            out.append(CapMessage(len(out) + 1, "Cancel", row.at, level))
    if not out:
        # No audit given: a raised warning shows as one Alert at its current level.
        out.append(CapMessage(1, "Alert", warning.opened_at, warning.level))
    if warning.status == "resolved" and out[-1].msg_type != "Cancel":
        out.append(CapMessage(len(out) + 1, "Cancel", warning.resolved_at or warning.last_at, out[-1].level))
    return out


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _pair(parent: etree._Element, tag: str, name: str, value: str) -> None:
    el = _sub(parent, tag)
    _sub(el, "valueName", name)
    _sub(el, "value", value)


_HEADLINE = {"Alert": N_("{level}预警 {title}"), "Update": N_("预警升级：{level}预警 {title}"),
             "Cancel": N_("预警解除：{level}预警 {title}")}
_INSTRUCTION = {
    "Alert": N_("请责任单位在时限内签收（确认）本预警，核实情况并依职责处置，处置完毕后办结。"
                "本平台只发出预警和提醒，不对任何人采取措施。"),
    "Update": N_("预警等级已提升，请按新等级的时限签收并处置。"),
    "Cancel": N_("本预警已办结，无需进一步行动。"),
}
LANGUAGE_TAG = {"zh": "zh-CN", "en": "en-US"}
"""The CAP ``<language>`` (RFC 3066) of each deployment language."""


def _headline(warning: CapWarning, msg: CapMessage, say: Callable[[str], str]) -> str:
    text = say(_HEADLINE[msg.msg_type]).format(level=say(msg.level.chinese), title=warning.title)
    return mask(text)[:160]  # CAP advises headlines under 160 characters (SMS-sized)


def build_alert(
    warning: CapWarning,
    message: CapMessage,
    previous: Sequence[CapMessage] = (),
    *,
    settings: Settings | None = None,
) -> etree._Element:
    """The ``<alert>`` element of one message; ``previous`` are the earlier messages it references."""
    s = settings or get_settings()
    say = translations(s.lang).gettext  # the deployment's language (the settings given), not the caller's
    alert = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(alert, "identifier", message.identifier(warning))
    _sub(alert, "sender", s.cap_sender)
    _sub(alert, "sent", cap_time(message.sent, s.cap_timezone))
    _sub(alert, "status", "Exercise" if s.cap_exercise else "Actual")
    _sub(alert, "msgType", message.msg_type)
    _sub(alert, "scope", "Restricted")
    _sub(alert, "restriction", say(s.cap_restriction))
    _sub(alert, "code", "fenghuo")
    if s.cap_exercise:
        _sub(alert, "note", say(N_("演练信息，非真实预警。")))
    if previous:
        tz = s.cap_timezone
        refs = (f"{s.cap_sender},{p.identifier(warning)},{cap_time(p.sent, tz)}" for p in previous)
        _sub(alert, "references", " ".join(refs))
    # Every message of one warning shares its fingerprint as the incident: receivers can group them.
    _sub(alert, "incidents", warning.fingerprint)

    info = _sub(alert, "info")
    _sub(info, "language", LANGUAGE_TAG.get(s.lang, "zh-CN"))
    _sub(info, "category", warning.category)
    _sub(info, "event", mask(warning.title))
    _sub(info, "responseType", "AllClear" if message.msg_type == "Cancel" else "Assess")
    _sub(info, "urgency", "Past" if message.msg_type == "Cancel" else _URGENCY[message.level])
    _sub(info, "severity", message.level.cap_severity)
    _sub(info, "certainty", "Likely")
    _pair(info, "eventCode", "fenghuo:rule", warning.rule)
    _sub(info, "effective", cap_time(message.sent, s.cap_timezone))
    _sub(info, "onset", cap_time(warning.first_at, s.cap_timezone))
    if warning.resolve_due_at and message.msg_type != "Cancel":
        _sub(info, "expires", cap_time(warning.resolve_due_at, s.cap_timezone))
    _sub(info, "senderName", say(s.cap_sender_name))
    _sub(info, "headline", _headline(warning, message, say))
    _sub(info, "description", mask(warning.explanation or warning.summary or warning.title))
    _sub(info, "instruction", say(_INSTRUCTION[message.msg_type]))
    _pair(info, "parameter", "fenghuo:warningId", str(warning.id))
    _pair(info, "parameter", "fenghuo:level", f"{message.level.value} ({message.level.roman})")
    if warning.summary:
        _pair(info, "parameter", "fenghuo:summary", mask(warning.summary))

    area = _sub(info, "area")
    _sub(area, "areaDesc", warning.region_path or warning.region)
    # GB/T 2260 names the county-level division (6 digits); the 12/15-digit statistical code is finer.
    _pair(area, "geocode", "GB/T 2260", warning.region[:6])
    _pair(area, "geocode", "CN-STATS-DIVISION", warning.region)
    return alert


def render_message(
    warning: CapWarning,
    message: CapMessage,
    previous: Sequence[CapMessage] = (),
    *,
    settings: Settings | None = None,
) -> str:
    """One message of the chain as a CAP 1.2 XML document."""
    return to_string(build_alert(warning, message, previous, settings=settings))


def render_cap(
    warning: CapWarning, audits: Iterable[AuditRow] = (), *, settings: Settings | None = None
) -> str:
    """The warning's latest CAP message (Alert, Update or Cancel) as a CAP 1.2 XML document."""
    chain = cap_messages(warning, audits)
    return render_message(warning, chain[-1], chain[:-1], settings=settings)


def render_chain(
    warning: CapWarning, audits: Iterable[AuditRow] = (), *, settings: Settings | None = None
) -> list[str]:
    """Every CAP message of the warning, oldest first (each Update/Cancel references the ones before)."""
    chain = cap_messages(warning, audits)
    return [render_message(warning, m, chain[:i], settings=settings) for i, m in enumerate(chain)]
