"""The ingest's fast path of each per-record function: the C twin where it is built, else the reference.

Each function here gives exactly what its reference gives (the definition, in pure Python):
:func:`domain.privacy.pseudonymiser`, :func:`integrations.store.prepared.canonical_json` with
:func:`~integrations.store.prepared.hash_content`, :func:`~integrations.store.prepared.utc_text` and
:func:`domain.kinds.has_bad_text`. The C
code (:mod:`integrations.ingest.speedups`) answers the common case and declines the rest (``None``), which
the reference then computes; ``tests/integrations/ingest/test_speedups.py`` compares both on generated input.
The C functions are looked up at each call or construction, so a test can take them away.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain import privacy
from domain.kinds import has_bad_text
from integrations.ingest import speedups
from integrations.store.prepared import canonical_json, hash_content, utc_text

__all__ = ["canonical_and_hash", "pseudonymiser", "text_refused", "times_of"]


def pseudonymiser(key: str | bytes) -> Callable[[str], str]:
    """:func:`domain.privacy.pseudonymiser` of ``key``: the C one where built (it hands values other than
    ASCII letters and digits to the domain's), else the domain's."""
    one = privacy.pseudonymiser(key)
    native = speedups.Pseudonymiser
    if native is None:
        return one
    return native(key if isinstance(key, bytes) else key.encode("utf-8"), one)


def canonical_and_hash(kind: str, at_timestamp: float, region: str, attributes: dict[str, Any]) -> tuple[str, str]:
    """``(canonical_json(attributes), hash_content(kind, at_timestamp, region, that text))``."""
    native = speedups.canonical_and_hash
    if native is not None:
        out = native(kind, at_timestamp, region, attributes)
        if out is not None:
            return out
    text = canonical_json(attributes)
    return text, hash_content(kind, at_timestamp, region, text)


def times_of(at: datetime) -> tuple[float, str]:
    """``(at.timestamp(), utc_text(at))`` of an aware datetime: the content hash's time and SQLite's text."""
    native = speedups.times_of
    if native is not None:
        out = native(at)
        if out is not None:
            return out
    return at.timestamp(), utc_text(at)


def text_refused(text: str) -> bool:
    """:func:`domain.kinds.has_bad_text`: whether ``text`` holds a NUL or a lone surrogate (the C one where built)."""
    native = speedups.text_refused
    if native is not None:
        out = native(text)
        if out is not None:
            return out
    return has_bad_text(text)


def text_check() -> Callable[[str], bool | None]:
    """The function the compiled mapping calls for each text it keeps: the C ``text_refused`` itself where
    built (no Python call in between; it answers every str, the only values it is given), else the reference."""
    return speedups.text_refused or has_bad_text
