"""A refused item's payload made fit to keep in the quarantine: personal fields pseudonymised, identifiers
typed into text masked, and what no store keeps (a NUL, a lone surrogate) written out.

The quarantine keeps what a department sent so that someone can see why it was refused and replay it
once the mapping is fixed; it must never keep a person's identifiers in clear. Used by
:func:`integrations.sources.mapping.map_item` for every rejection and by the records import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

from domain.kinds import has_bad_text
from domain.nesting import MAX_DEPTH, clipped
from domain.privacy import mask, mask_value, pseudonymise_value

__all__ = ["PayloadShape", "safe_raw", "storable"]

_CODE = re.compile(r"^\d{12}(\d{3})?$")


class PayloadShape(Protocol):
    """What of a source's configuration (:class:`~integrations.sources.mapping.SourceConfig`) the payload needs."""

    @property
    def personal_raw(self) -> tuple[str, ...]:
        """Department fields holding personal data."""

    @property
    def region_field(self) -> str:
        """The department field of the region code."""


def _safe_value(name: str, value: Any, config: PayloadShape, key: str | bytes) -> Any:
    if name in config.personal_raw:
        return pseudonymise_value(_cleaned(value), key)
    if name == config.region_field and isinstance(value, str) and _CODE.match(value):
        # A well-formed region code is a place, kept as sent so a replay maps it; masking would mangle codes
        # such as 510116… whose digits happen to contain a mobile-like run.
        return value
    return mask_value(value)


def _cleaned(value: Any) -> Any:
    # A refused identifier is still pseudonymised in the quarantined payload: hash what can be encoded.
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _cleaned(v) for k, v in value.items()}
    return value


def storable(text: str) -> str:
    """``text`` with what no store keeps written out: a NUL as ``\\x00``, a lone surrogate as ``\\udxxx``."""
    if not has_bad_text(text):
        return text
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def safe_raw(raw: Any, config: PayloadShape, key: str | bytes) -> str:
    """The payload as text fit to store: personal fields pseudonymised, identifiers in text masked."""
    # Cut to a depth every walker below (masking, json.dumps, repr) can take: an item nested past the
    # interpreter's stack is still kept, its deep part written as domain.nesting.CLIPPED.
    if isinstance(raw, Mapping):
        safe = {k: _safe_value(k, clipped(v, MAX_DEPTH - 1), config, key) for k, v in raw.items()}
        return storable(json.dumps(safe, ensure_ascii=False, default=str))
    text = storable(raw if isinstance(raw, str) else repr(clipped(raw)))
    if config.personal_raw:
        # A cut page is not JSON, but its personal fields still look like "name": "value".
        fields = "|".join(re.escape(f) for f in config.personal_raw)
        pattern = re.compile(rf'("(?:{fields})"\s*:\s*")([^"]*)')
        text = pattern.sub(lambda m: m.group(1) + str(pseudonymise_value(m.group(2), key)), text)
    return mask(text)
