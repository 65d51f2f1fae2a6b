"""A small, safe reader of CAP 1.2 (and 1.1) alerts: the fields a warning system acts on.

It reads what is there and does not validate against the schema (use
:func:`integrations.cap_xml.validate_against` for that): real feeds publish alerts that break the XSD in
harmless ways, and a reader that refused them would be of little use. It does refuse unsafe XML
(DOCTYPE, entities) and documents that are not CAP alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from integrations.cap_xml import CAP11_NS, CAP_NS, CapError, parse_xml
from integrations.i18n import _


@dataclass(frozen=True)
class CapArea:
    """One ``<area>``: its description, geocodes (name, value) and how many polygons and circles."""

    desc: str
    geocodes: tuple[tuple[str, str], ...] = ()
    polygons: int = 0
    circles: int = 0


@dataclass(frozen=True)
class CapInfo:
    """One ``<info>`` block (an alert may carry one per language)."""

    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str = ""
    description: str = ""
    instruction: str = ""
    sender_name: str = ""
    event_codes: tuple[tuple[str, str], ...] = ()
    parameters: tuple[tuple[str, str], ...] = ()
    areas: tuple[CapArea, ...] = ()


@dataclass(frozen=True)
class CapAlert:
    """A parsed CAP alert. ``msg_type`` is CAP's ``msgType``; ``references`` are ``sender,id,sent``."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    namespace: str = CAP_NS
    restriction: str = ""
    references: tuple[str, ...] = ()
    incidents: tuple[str, ...] = ()
    infos: tuple[CapInfo, ...] = field(default_factory=tuple)


class _Reader:
    """Namespace-bound lookups of child text."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def q(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}"

    def text(self, el: etree._Element, tag: str, *, required: bool = False) -> str:
        child = el.find(self.q(tag))
        value = (child.text or "").strip() if child is not None else ""
        if required and not value:
            raise CapError(_("CAP 消息缺少 <{tag}> 或其为空").format(tag=tag))
        return value

    def texts(self, el: etree._Element, tag: str) -> tuple[str, ...]:
        return tuple((c.text or "").strip() for c in el.findall(self.q(tag)))

    def pairs(self, el: etree._Element, tag: str) -> tuple[tuple[str, str], ...]:
        return tuple((self.text(c, "valueName"), self.text(c, "value")) for c in el.findall(self.q(tag)))


def _parse_sent(value: str) -> datetime:
    try:
        # fromisoformat accepts "Z" too, which a few real feeds use although CAP forbids it.
        sent = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CapError(_("CAP 消息的 <sent> 不是日期时间：{value}").format(value=repr(value))) from exc
    if sent.tzinfo is None:
        raise CapError(_("CAP 消息的 <sent> 未标时区偏移：{value}").format(value=repr(value)))
    return sent


def _info(r: _Reader, el: etree._Element) -> CapInfo:
    areas = tuple(
        CapArea(
            desc=r.text(a, "areaDesc"),
            geocodes=r.pairs(a, "geocode"),
            polygons=len(a.findall(r.q("polygon"))),
            circles=len(a.findall(r.q("circle"))),
        )
        for a in el.findall(r.q("area"))
    )
    return CapInfo(
        language=r.text(el, "language") or "en-US",  # CAP's default when <language> is absent
        categories=r.texts(el, "category"),
        event=r.text(el, "event"),
        urgency=r.text(el, "urgency"),
        severity=r.text(el, "severity"),
        certainty=r.text(el, "certainty"),
        headline=r.text(el, "headline"),
        description=r.text(el, "description"),
        instruction=r.text(el, "instruction"),
        sender_name=r.text(el, "senderName"),
        event_codes=r.pairs(el, "eventCode"),
        parameters=r.pairs(el, "parameter"),
        areas=areas,
    )


def parse_cap(data: str | bytes) -> CapAlert:
    """Read a CAP 1.2 (or 1.1) ``<alert>``; raise :class:`CapError` if it is not one or is unsafe."""
    root = parse_xml(data)
    ns = etree.QName(root).namespace
    if ns not in (CAP_NS, CAP11_NS) or etree.QName(root).localname != "alert":
        raise CapError(_("不是 CAP 1.2 预警消息：根元素为 {tag}").format(tag=repr(root.tag)))
    r = _Reader(ns)
    return CapAlert(
        identifier=r.text(root, "identifier", required=True),
        sender=r.text(root, "sender", required=True),
        sent=_parse_sent(r.text(root, "sent", required=True)),
        status=r.text(root, "status", required=True),
        msg_type=r.text(root, "msgType", required=True),
        scope=r.text(root, "scope", required=True),
        namespace=ns,
        restriction=r.text(root, "restriction"),
        references=tuple(r.text(root, "references").split()),
        incidents=tuple(r.text(root, "incidents").split()),
        infos=tuple(_info(r, el) for el in root.findall(r.q("info"))),
    )
