"""Safe XML plumbing shared by the CAP renderer, feed and parser.

Alerts from outside (feeds of other agencies, a pasted file) are untrusted input: the parser never
resolves entities, never loads a DTD, never touches the network, and refuses documents that carry a
DOCTYPE at all (the defusedxml stance: an alert has no business declaring one).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

from integrations.i18n import _

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
"""The CAP 1.2 namespace."""
CAP11_NS = "urn:oasis:names:tc:emergency:cap:1.1"
"""The CAP 1.1 namespace: its element set is a subset of 1.2's for what the parser reads."""
ATOM_NS = "http://www.w3.org/2005/Atom"
"""The Atom 1.0 namespace."""

_DECLARATION = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")


class CapError(ValueError):
    """Input is not a CAP alert we can read (malformed, unsafe, or another namespace)."""


def safe_parser() -> etree.XMLParser:
    """An lxml parser with entity resolution, DTD loading and network access switched off."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def parse_xml(data: str | bytes) -> etree._Element:
    """Parse untrusted XML safely; raise :class:`CapError` if malformed or carrying a DOCTYPE.

    A ``str`` is text already decoded, so its XML declaration (which may name another encoding) is
    dropped before parsing; ``bytes`` keep it, and lxml honours the declared encoding and a BOM.
    """
    if isinstance(data, str):
        data = _DECLARATION.sub("", data, count=1).encode("utf-8")
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise CapError(_("XML 格式有误：{error}").format(error=exc)) from exc
    doctype = root.getroottree().docinfo.doctype
    if doctype:
        raise CapError(_("预警消息中不允许出现 DOCTYPE 声明"))
    return root


def cap_time(value: datetime, tz: str) -> str:
    """A CAP ``dateTime``: seconds precision with an explicit offset (never ``Z``), in zone ``tz``."""
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: CAP times carry an offset")
    return value.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def to_string(root: etree._Element) -> str:
    """Serialise an element as a UTF-8 XML document (declaration included), returned as text."""
    body: str = etree.tostring(root, encoding="unicode", pretty_print=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


def validate_against(data: str | bytes, xsd: Path) -> list[str]:
    """Errors of ``data`` against the XML schema in ``xsd`` (empty when valid). For tests and tooling."""
    schema = etree.XMLSchema(etree.parse(str(xsd), parser=safe_parser()))
    try:
        doc = parse_xml(data)
    except CapError as exc:
        return [str(exc)]
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
