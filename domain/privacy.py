"""Privacy: keyed pseudonyms and masking of personal identifiers (pure functions).

Personal identifiers (ID-card numbers, phone numbers) are replaced at ingest by a keyed pseudonym —
HMAC-SHA256 under ``settings.pseudonym_key`` — so two departments' records of one person still join while
the raw value is never stored. A pseudonym is ``"p_"`` + 20 hex digits (80 bits: no collisions at a
city's scale) and is stable for a key; a different key gives unrelated pseudonyms.

:func:`mask` is for free text (subjects, addresses, messages, logs, reports): ID-card, mobile and landline
numbers, card-like numbers and passport-like tokens, as people type them (in groups, in full-width
digits, inside Chinese text), are masked keeping their first 3 and last 2 digits; the recognition and
its rules are in :mod:`domain.identifiers`. Region codes (12 or 15 digits of the statistical code) and
pseudonyms are left alone: they identify places and keyed hashes, not people.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from domain.identifiers import mask_identifiers

PSEUDONYM_PREFIX = "p_"
_PSEUDONYM = re.compile(r"^p_[0-9a-f]{20}$")
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_SEPARATORS = re.compile(r"[\s\-.\u2010-\u2015\u2212()]")


def _key_bytes(key: str | bytes) -> bytes:
    return key if isinstance(key, bytes) else key.encode("utf-8")


def normalise_identifier(value: str) -> str:
    """The canonical form hashed for a pseudonym: full-width forms as ASCII, no spaces, dashes, dots or
    brackets, upper case.

    So ``"510104 19900101 123x"``, ``"５１０１０４１９９００１０１１２３Ｘ"`` and ``"51010419900101123X"``
    are one person.
    """
    if value.isascii():
        if value.isalnum():  # the common case, without the regex
            return value.upper()
    else:
        value = value.translate(_FULLWIDTH)
    return _SEPARATORS.sub("", value).upper()


def is_pseudonym(value: object) -> bool:
    """True if ``value`` already is a pseudonym (so pseudonymising twice changes nothing)."""
    # The cheap length and prefix tests first: this runs for every identifier at ingest.
    if not isinstance(value, str) or len(value) != 22 or value[:2] != PSEUDONYM_PREFIX:
        return False
    return bool(_PSEUDONYM.match(value))


_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


@lru_cache(maxsize=16)
def _hmac_states(key: bytes) -> tuple[Any, Any]:
    """SHA-256 states with the key's inner and outer pads absorbed (RFC 2104), copied for each value.

    Half the cost of ``hmac.new`` per identifier, which matters at ingest: most people are new there.
    """
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def _digest(value: str, inner: Any, outer: Any) -> str:
    h = inner.copy()
    h.update(normalise_identifier(value).encode("utf-8"))
    o = outer.copy()
    o.update(h.digest())
    digest: str = o.hexdigest()
    return PSEUDONYM_PREFIX + digest[:20]


@lru_cache(maxsize=1 << 16)
def _keyed(value: str, key: bytes) -> str:
    # People recur across records and departments: caching saves the HMAC and the normalisation.
    return _digest(value, *_hmac_states(key))


def pseudonymiser(key: str | bytes) -> Callable[[str], str]:
    """:func:`pseudonym` under ``key``, as a function of a string, without the shared cache: for a caller
    to whom that cache is only extra work (the ingest's compiled mapping keeps its own, or uses its C twin
    of this function, :func:`integrations.ingest.twins.pseudonymiser`, which falls back to this one).
    """
    inner, outer = _hmac_states(_key_bytes(key))

    def one(value: str) -> str:
        return value if is_pseudonym(value) else _digest(value, inner, outer)

    return one


def pseudonym(value: str, key: str | bytes) -> str:
    """The keyed pseudonym of an identifier: ``p_`` + the first 20 hex digits of HMAC-SHA256.

    Idempotent: a value that already is a pseudonym is returned unchanged, so a quarantined payload
    (stored pseudonymised) can be replayed through the same mapping.
    """
    if is_pseudonym(value):
        return value
    return _keyed(value, _key_bytes(key))


def mask(text: str) -> str:
    """``text`` with every personal identifier masked, keeping its first 3 and last 2 digits.

    >>> mask("来电 13812345678 反映")
    '来电 138******78 反映'
    """
    return mask_identifiers(text)


def mask_value(value: Any) -> Any:
    """:func:`mask` applied to a string, or to the strings inside a list or dict; other values as they are."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    return value


def pseudonymise_value(value: Any, key: str | bytes) -> Any:
    """Pseudonym of a scalar identifier (or of each one in a list); ``None`` and ``""`` stay as they are."""
    if value is None or value == "":
        return value
    if isinstance(value, list):
        return [pseudonymise_value(v, key) for v in value]
    return pseudonym(str(value), key)


def pseudonymise_fields(attrs: Mapping[str, Any], personal_fields: Iterable[str], key: str | bytes) -> dict[str, Any]:
    """A copy of ``attrs`` with each field named in ``personal_fields`` replaced by its pseudonym."""
    personal = set(personal_fields)
    return {name: pseudonymise_value(v, key) if name in personal else v for name, v in attrs.items()}
