"""The C twins of the ingest's per-record functions, when they are built (``integrations/ingest/_speedups.c``).

Every record ingested needs a keyed pseudonym per personal identifier, the canonical text and
content hash of its attributes, its time as a timestamp and as UTC text, and every text it keeps
checked for what no store keeps. The Python references (:func:`domain.privacy.pseudonymiser`,
:func:`integrations.store.prepared.canonical_json` with :func:`~integrations.store.prepared.hash_content`,
:func:`~integrations.store.prepared.utc_text`, :func:`domain.kinds.has_bad_text`) are the definition; the C
extension computes the same values in a fraction of the time for the common case and declines
everything else. :mod:`integrations.ingest.twins` puts the two together (C, else the reference), so
results never depend on whether it is built (``tests/integrations/ingest/test_speedups.py`` compares
both on generated input).

The extension is optional at install time (no compiler or OpenSSL headers: the project still
installs);  the names below are then ``None`` and :data:`UNAVAILABLE` says why. CI requires it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = ["UNAVAILABLE", "VERSION", "Pseudonymiser", "canonical_and_hash", "text_refused", "times_of"]

VERSION = 2
"""The behaviour version this code expects of the extension (``SPEEDUPS_VERSION`` in the C source)."""

canonical_and_hash: Callable[[str, float, str, dict[str, Any]], tuple[str, str] | None] | None = None
"""The C ``canonical_and_hash`` (``None`` for what it leaves to Python), or ``None`` when not built."""
times_of: Callable[[datetime], tuple[float, str] | None] | None = None
"""The C ``(at.timestamp(), utc_text(at))`` (``None`` for what it leaves to Python), or ``None`` when not built."""
text_refused: Callable[[str], bool | None] | None = None
"""The C ``domain.kinds.has_bad_text`` (``None`` for what is not a str), or ``None`` when not built."""
Pseudonymiser: Callable[[bytes, Callable[[str], str]], Callable[[str], str]] | None = None
"""``Pseudonymiser(key, fallback)``, a C pseudonym function, or ``None`` when not built."""
UNAVAILABLE: str | None = None
"""Why the functions above are ``None`` (``None`` when the extension is built and current)."""

try:
    from integrations.ingest import _speedups
except ImportError as exc:  # not built: the Python twins do all the work
    UNAVAILABLE = (
        f"integrations.ingest._speedups is not built ({exc}); install a C compiler and OpenSSL's headers (Debian: gcc "
        "libssl-dev), then run `uv sync --reinstall-package fenghuo`"
    )
else:
    if getattr(_speedups, "VERSION", None) == VERSION:
        canonical_and_hash, times_of = _speedups.canonical_and_hash, _speedups.times_of
        text_refused = _speedups.text_refused
        Pseudonymiser = _speedups.Pseudonymiser
    else:  # a build left over from other sources: never trust it
        UNAVAILABLE = (
            f"integrations.ingest._speedups is a stale build (version {getattr(_speedups, 'VERSION', '?')}, expected "
            f"{VERSION}); run `uv sync --reinstall-package fenghuo`"
        )
