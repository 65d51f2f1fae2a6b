"""An Atom 1.0 feed of current (unresolved) warnings, each entry carrying its latest CAP 1.2 message.

This is the shape CAP aggregators read (an Atom index whose entries link to, and here also embed, the
CAP documents). Resolved warnings leave the feed: their ``Cancel`` message is available from
:func:`integrations.cap.render_chain` for receivers that follow a warning's chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from lxml import etree

from domain.privacy import mask
from integrations.cap import CapWarning, build_alert, cap_messages
from integrations.cap_xml import ATOM_NS, cap_time, to_string
from integrations.i18n import _
from integrations.settings import Settings, get_settings
from integrations.store.models import AuditRow

CAP_MEDIA_TYPE = "application/cap+xml"
"""The registered media type of a CAP document."""


def _a(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def cap_url(base_url: str, identifier: str) -> str:
    """Where one CAP message is served (the entry's ``alternate`` link)."""
    return f"{base_url.rstrip('/')}/cap/{identifier}.xml"


def render_atom_feed(
    warnings: Iterable[CapWarning],
    now: datetime,
    *,
    audits: Mapping[int, Sequence[AuditRow]] | None = None,
    settings: Settings | None = None,
) -> str:
    """The Atom feed of the unresolved ``warnings`` (resolved ones are left out), most severe first.

    ``audits`` maps a warning id to its audit rows, so each entry is its chain's latest message (an
    Update after a rise); without it each entry is the warning's Alert at its current level.
    """
    s = settings or get_settings()
    base = s.public_base_url.rstrip("/")
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    _a(feed, "id", f"urn:fenghuo:cap-feed:{s.cap_sender}")
    _a(feed, "title", _("{sender}：当前预警（CAP 1.2）").format(sender=_(s.cap_sender_name)))
    _a(feed, "updated", cap_time(now, s.cap_timezone))
    _a(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/cap/feed.atom")
    author = _a(feed, "author")
    _a(author, "name", _(s.cap_sender_name))

    current = [w for w in warnings if w.status != "resolved"]
    current.sort(key=lambda w: (-w.level.rank, -w.last_at.timestamp(), w.id))
    for warning in current:
        chain = cap_messages(warning, (audits or {}).get(warning.id, ()))
        message = chain[-1]
        alert = build_alert(warning, message, chain[:-1], settings=s)
        identifier = message.identifier(warning)
        entry = _a(feed, "entry")
        _a(entry, "id", f"urn:fenghuo:cap:{identifier}")
        _a(entry, "title", _("{level}预警 {title}").format(level=_(message.level.chinese), title=mask(warning.title)))
        _a(entry, "updated", cap_time(message.sent, s.cap_timezone))
        _a(entry, "link", rel="alternate", type=CAP_MEDIA_TYPE, href=cap_url(base, identifier))
        _a(entry, "category", term=message.level.value, label=message.level.chinese)
        if warning.summary:
            _a(entry, "summary", mask(warning.summary))
        # An XML media type in content@type lets the CAP alert sit inside the entry as XML, not text.
        content = _a(entry, "content", type=CAP_MEDIA_TYPE)
        content.append(alert)
    return to_string(feed)
