"""Rendering the workspace's pages: Jinja2 with autoescaping, answers that are never cached or framed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from integrations import i18n
from integrations.labels import label
from integrations.workspace import names

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)
# The catalogue's functions read FENGHUO_LANG when called, so one environment serves either language.
_ENV.install_gettext_callables(i18n._, i18n.ngettext, newstyle=True,  # type: ignore[attr-defined]
                                pgettext=i18n.pgettext)
_ENV.policies["ext.i18n.trimmed"] = True  # as babel.cfg extracts them: whitespace inside {% trans %} folded


_ENV.globals.update(LEVEL_CN=names.LEVEL_CN, LEVEL_ORDER=names.LEVEL_ORDER, STATUS_CN=names.STATUS_CN,
                    label=label, lang=i18n.language)

HEADERS = {
    # Pages show warnings about people: no shared cache keeps them, no other site frames them, and no
    # script or style comes from anywhere but this page.
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


LINK_HEADERS = {
    **HEADERS,
    # A link's token is a capability: keep it out of Referer headers and search indexes.
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def page(template: str, *, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """The rendered ``template`` with the workspace's headers (or ``headers``)."""
    return HTMLResponse(_ENV.get_template(template).render(**context), status_code=status,
                        headers=headers or HEADERS)
