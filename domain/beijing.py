"""Beijing time: the zone in which every time a responder or an operator reads is shown.

China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact for every date the
system meets and needs no tz database.
"""

from __future__ import annotations

from datetime import timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "CST")
"""China Standard Time, UTC+8 (the one definition; every module that shows or reads local time uses it)."""
