"""The message catalogue: every user-facing string goes through ``_()`` (or ``ngettext``) in the language of
``FENGHUO_LANG`` (Chinese by default, English available).

The msgids are the Chinese source strings, so Chinese needs no catalogue and anything not yet translated
still shows in Chinese, never in a made-up English. English lives in ``locale/en/LC_MESSAGES/fenghuo.po``;
it is compiled in memory when first needed (babel.messages), so there is no build step and no ``.mo`` file
to forget. The translator's workflow (extract, update, check) is in docs/translation.md.

Strings in module-level tables (evaluated before any language is known) are marked with :func:`N_` and
translated where they are shown: ``_(STATUS[value])``.
"""

from __future__ import annotations

import gettext
import os
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import cast, get_args

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from integrations.settings import PACKAGE_ROOT, Language, get_settings

LOCALE_DIR = PACKAGE_ROOT / "locale"
"""Folder of the catalogues: ``<lang>/LC_MESSAGES/fenghuo.po``."""
DOMAIN = "fenghuo"
SOURCE_LANGUAGE: Language = "zh"
"""The language msgids are written in: it needs no catalogue."""


def catalogue_path(lang: Language) -> Path:
    """Where the ``.po`` catalogue of ``lang`` lives."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=4)
def translations(lang: Language) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (Chinese: the identity). Fuzzy entries are left out, as msgfmt does."""
    if lang == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    with catalogue_path(lang).open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    mo = BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    return Translations(mo, domain=DOMAIN)


def language() -> Language:
    """The language in force (``FENGHUO_LANG``).

    Unreadable settings render in the ``FENGHUO_LANG`` of the environment if it names a language, else in
    Chinese: refusing them (with the reason, in that language) is the entry point's job (``fenghuo`` does it
    before any command), and help texts are translated while modules import.
    """
    from pydantic import ValidationError

    try:
        return get_settings().lang
    except ValidationError:
        asked = os.environ.get("FENGHUO_LANG", "").strip().lower()
        return cast(Language, asked) if asked in get_args(Language) else SOURCE_LANGUAGE


def _(message: str) -> str:
    """``message`` (a Chinese msgid) in the language in force; ``""`` stays empty (gettext would answer
    the catalogue's header)."""
    return translations(language()).gettext(message) if message else message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for ``n`` in the language in force."""
    return translations(language()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in the language in force, told apart by ``context`` where one Chinese word needs two
    translations (签收 the button, "Acknowledge"; 签收 the event, "acknowledged")."""
    return translations(language()).pgettext(context, message) if message else message


def N_(message: str) -> str:  # the conventional gettext_noop name, which babel extracts
    """Mark ``message`` for extraction without translating it now (module-level tables); ``_()`` it when shown."""
    return message


def translate(text: object) -> str:
    """``text`` in the language in force: a :class:`domain.messages.Message` (a domain or store refusal)
    through its template, parameters that are Messages too; anything else as it is."""
    from domain.messages import Message

    if not isinstance(text, Message):
        return str(text)
    params = {k: translate(v) if isinstance(v, Message) else v for k, v in text.params.items()}
    return _(text.template).format(**params) if params else _(text.template)


def explain(exc: BaseException) -> str:
    """What a user reads of a refusal ``exc``: its :class:`~domain.messages.Message` translated, else its text."""
    from domain.messages import message_of

    message = message_of(exc)
    return translate(message) if message is not None else str(exc)
