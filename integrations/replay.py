"""Replay quarantined input through the CURRENT mapping (after the mapping or the department was fixed).

A quarantined payload was stored made safe (personal fields already pseudonymised; pseudonyms are
idempotent, so mapping it again gives the same pseudonyms). Each replayed row that now maps to a valid
record is upserted exactly as if it had arrived normally — it gets the next ``seq`` and flows on to
evaluation — and is marked ``replayed_at``; one that is still invalid stays in quarantine with the new
reason. Everything happens in one transaction.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import col, select

from domain.kinds import RecordKinds
from domain.messages import N_, Message
from domain.records import Record
from integrations.sources.mapping import SourceConfig, map_item
from integrations.store.columns import utcnow
from integrations.store.db import session_scope
from integrations.store.models import QuarantineRow
from integrations.store.records import upsert_records


@dataclass
class ReplayReport:
    """What a replay did, by quarantine row id."""

    replayed: list[int] = field(default_factory=list)
    """Rows that became records (upserted, marked replayed)."""
    still_invalid: dict[int, str] = field(default_factory=dict)
    """Rows that are still invalid → their new reason."""
    skipped: dict[int, str] = field(default_factory=dict)
    """Rows not tried → why (unknown id, already replayed, source no longer configured)."""
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def replay_quarantine(
    engine: sa.Engine,
    ids: Sequence[int] | None,
    *,
    configs: Mapping[str, SourceConfig],
    kinds: RecordKinds,
    key: str | bytes,
    now: datetime | None = None,
    source: str | None = None,
    known_regions: Container[str] | None = None,
) -> ReplayReport:
    """Replay the quarantined rows ``ids`` (``None``: every row not yet replayed, optionally of ``source``).

    ``configs`` maps source names to their current mapping. See the module docstring.
    """
    now = now or datetime.now(UTC)
    report = ReplayReport()
    with session_scope(engine) as session:
        q = select(QuarantineRow).order_by(col(QuarantineRow.id))
        if ids is not None:
            q = q.where(col(QuarantineRow.id).in_(list(ids)))
        if source is not None:
            q = q.where(QuarantineRow.source == source)
        rows = list(session.exec(q))
        found = {r.id for r in rows}
        for missing in sorted(set(ids or ()) - found):
            report.skipped[missing] = (Message(N_("来源 {source} 没有这条隔离记录"), source=source) if source
                                       else Message(N_("没有这条隔离记录")))
        records: list[Record] = []
        done: list[QuarantineRow] = []
        for row in rows:
            assert row.id is not None
            if row.replayed_at is not None:
                if ids is not None:
                    report.skipped[row.id] = Message(N_("已于 {at} 重放过"),
                                                     at=row.replayed_at.isoformat(timespec="seconds"))
                continue
            cfg = configs.get(row.source)
            if cfg is None:
                report.skipped[row.id] = Message(N_("来源 {source} 已不在配置中"), source=repr(row.source))
                continue
            out = map_item(row.raw, cfg, kinds, key, now=now, known_regions=known_regions)
            if isinstance(out, Record):
                records.append(out)
                done.append(row)
                report.replayed.append(row.id)
            else:
                row.reason = f"replayed {now.isoformat(timespec='seconds')}: {out.reason}"
                session.add(row)
                report.still_invalid[row.id] = out.reason
        if records:
            stats = upsert_records(session=session, records=records)
            report.inserted, report.updated, report.unchanged = stats.inserted, stats.updated, stats.unchanged
        stamp = utcnow()
        for row in done:
            row.replayed_at = stamp
            session.add(row)
    return report


def built_in_sources(kinds: RecordKinds) -> dict[str, SourceConfig]:
    """The sources Fenghuo itself feeds (field reports, the care visits of done 走访 tasks), which are in no
    sources file but whose quarantined items are replayed like any department's."""
    from integrations import grid_reports, tasks

    return {grid_reports.SOURCE: grid_reports.CONFIG, tasks.VISIT_SOURCE: tasks.visit_source(kinds)}


__all__ = ["ReplayReport", "built_in_sources", "replay_quarantine"]
