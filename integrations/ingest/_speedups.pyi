"""Type stub of the C extension ``integrations.ingest._speedups`` (``_speedups.c`` and ``speedups.py`` beside it)."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

VERSION: int

def canonical_and_hash(
    kind: str, at_timestamp: float, region: str, attributes: dict[str, Any]
) -> tuple[str, str] | None:
    """``canonical_json`` and ``hash_content`` of ``integrations.store.prepared`` at once, for the common case;
    ``None`` for the rest."""

def times_of(at: datetime) -> tuple[float, str] | None:
    """``(at.timestamp(), utc_text(at))`` for a fixed-offset time in 1970–2099; ``None`` for the rest."""

def text_refused(text: str) -> bool | None:
    """``domain.kinds.has_bad_text(text)`` for a str; ``None`` for anything else."""

class Pseudonymiser:
    """The keyed pseudonym of an identifier; ``fallback(value)`` computes it for what C leaves alone."""

    def __init__(self, key: bytes, fallback: Callable[[str], str]) -> None: ...
    def __call__(self, value: str) -> str: ...
