"""Which warnings responders resolved since the resident evaluator last looked (issue 17, speed).

The evaluator must resolve those warnings too, so that their next firing opens a new one. Asking the store
which of *all* its open warnings are still open cost 150 ms a pass against 30 days of history (15,600 open
warnings: an ``IN`` of that many keys, twice a run). A warning is resolved in one place only
(:func:`integrations.store.resolution.close_warning`), which appends a ``resolved`` audit row; so a pass
reads the ``resolved`` rows after the last audit id it saw — a range of the primary key — and checks only
their fingerprints.

Audit ids are handed out before commit: on PostgreSQL a transaction can commit a lower id after a higher one
was read. Each read therefore goes back :data:`OVERLAP` ids (re-reading is harmless: only fingerprints open
in the evaluator and no longer open in the store are resolved), and every :data:`FULL_EVERY` of wall time
the whole open set is checked as before, so a resolution missed by both is seen within minutes.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session

from domain.warnings import WarningState
from integrations.store.models import AuditRow, WarningRow
from integrations.store.resolution import RESOLVED
from integrations.store.warnings import open_fingerprints

__all__ = ["FULL_EVERY", "OVERLAP", "SAME_RUN_S", "ResolvedWatch"]

OVERLAP = 2_000
"""How many audit ids each read goes back (see the module)."""

FULL_EVERY = timedelta(minutes=5)
"""How often (wall time) the whole open set is checked (see the module)."""

SAME_RUN_S = 1.0
"""Within one run (one ``now``), how long a read stands for the next passes (seconds of wall time)."""

_AUDIT: sa.Table = AuditRow.__table__  # type: ignore[attr-defined]
_WARNING: sa.Table = WarningRow.__table__  # type: ignore[attr-defined]


class _Resolving(Protocol):
    def warnings(self) -> list[WarningState]: ...

    def resolve(self, fingerprint: str) -> bool: ...


class ResolvedWatch:
    """The audit id read up to, and when the whole open set was last checked."""

    def __init__(self) -> None:
        self.seen = 0
        self.full_at: datetime | None = None
        self._last: tuple[datetime, float] | None = None  # the last read: the caller's now, and monotonic time

    def sync(self, session: Session, evaluator: _Resolving, now: datetime) -> list[str]:
        """Resolve in ``evaluator`` the warnings resolved in the store since the last call; their fingerprints
        (the next journal row records them). The passes of one run share its ``now``: within a second
        of wall time of the last read, a pass of the same run reads nothing again (a tenth of a batch's cost)."""
        if self._last is not None and self._last[0] == now and time.monotonic() - self._last[1] < SAME_RUN_S:
            return []
        self._last = (now, time.monotonic())
        last = sa.select(sa.func.coalesce(sa.func.max(_AUDIT.c.id), 0).label("top")).subquery()
        if self.full_at is None or now - self.full_at >= FULL_EVERY or now < self.full_at:
            top = int(session.execute(sa.select(last.c.top)).scalar_one())
            candidates = [w.fingerprint for w in evaluator.warnings()]
            self.full_at = now
        else:
            # The last id and the resolutions up to it in one round trip (a row of the id alone: none).
            joined = _AUDIT.join(_WARNING, _WARNING.c.id == _AUDIT.c.warning_id)
            on = sa.and_(_AUDIT.c.id > self.seen - OVERLAP, _AUDIT.c.id <= last.c.top, _AUDIT.c.action == RESOLVED)
            rows = session.execute(sa.select(last.c.top, _WARNING.c.fingerprint)
                                   .select_from(last.outerjoin(joined, on))).all()
            top = int(rows[0][0])
            candidates = sorted({fp for _, fp in rows if fp is not None})
        self.seen = top
        if not candidates:
            return []
        still_open = open_fingerprints(session=session, fingerprints=candidates)
        return [fp for fp in candidates if fp not in still_open and evaluator.resolve(fp)]
