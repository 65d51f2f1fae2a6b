"""Records in and out of the store as files: ``fenghuo records import`` and ``fenghuo records export``.

Import stores a file's items exactly as if the named source had delivered them: each item goes through
the source's mapping (validated, typed, pseudonymised, free text masked), a refused item is quarantined
whole with its reason, records are upserted by (source, id) (a second import of the same file stores
nothing new), and the source's watermark moves — all in one transaction, so a failure leaves nothing
half-written. Items are either record-shaped (``kind``, ``id``, ``at``, ``region`` and the kind's fields:
what ``export`` writes and ``backtest --records`` reads) or, with ``mapped``, the department's own shape.

Export writes the stored records as JSON lines in that record shape, in the engine's order.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Container, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from domain.beijing import BEIJING
from domain.kinds import RecordKinds
from domain.messages import N_, Message
from domain.records import Record
from integrations.i18n import _
from integrations.ingest.fastmap import CompiledMapping
from integrations.sources.mapping import Rejection, SourceConfig
from integrations.sources.payload import safe_raw
from integrations.store.db import session_scope
from integrations.store.records import quarantine, record_span, records_between, upsert_prepared
from integrations.store.watermarks import note_delivery

__all__ = ["ImportFileError", "ImportReport", "export_lines", "import_items", "read_items", "record_shape",
           "stored_days"]

_ENGINE_ORDER = attrgetter("key")
"""A record's place in the engine's order: ``(at, source, id)``."""


class ImportFileError(ValueError):
    """A file that cannot be imported at all (unreadable, or a line that is not JSON): nothing is stored."""


@dataclass
class ImportReport:
    """What one import did."""

    accepted: int = 0
    """Records stored new or changed."""
    duplicates: int = 0
    """Records already stored unchanged (same source and id, same content)."""
    quarantined: int = 0
    complete_up_to: datetime | None = None


def record_shape(config: SourceConfig, kinds: RecordKinds) -> SourceConfig:
    """``config`` for record-shaped items: every field of the kind under its own name, ``id``, ``at``
    (ISO 8601), ``region``; the source's required, free-text and personal fields kept (personal under
    their record names), its constants kept, no value maps (the values are already Fenghuo's)."""
    own = tuple(kinds.get(config.kind).fields) if config.kind in kinds.kinds else ()
    personal = tuple(dict.fromkeys(config.fields[p] for p in config.personal_raw if p in config.fields))
    return replace(
        config,
        fields={f: f for f in own},
        id_field="id",
        at_field="at",
        region_field="region",
        personal_raw=personal,
        value_maps={},
        at_format=None,
        region_fields=(),
        region_lookup=None,
    )


def _json_lines(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except RecursionError:  # nested past the stack: the line's item alone is quarantined (too_deep)
                yield line.rstrip("\r\n")
                continue
            except ValueError as exc:
                raise ImportFileError(_("{file}:{line}: 不是有效的 JSON（{error}）；每行应是一个 JSON 对象").format(
                    file=path, line=number, error=exc)) from None
            yield item


def read_items(path: Path) -> list[Any]:
    """The items of ``path``: CSV (by its ``.csv`` suffix; empty cells left out) or JSON lines."""
    if not path.is_file():
        raise ImportFileError(_("{file}: 文件不存在；请检查路径").format(file=path))
    try:
        if path.suffix.lower() == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as f:
                return [{k: v for k, v in row.items() if k and v not in (None, "")} for row in csv.DictReader(f)]
        return list(_json_lines(path))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportFileError(_("{file}: 无法读取（{error}）；请提供 UTF-8 编码的 JSON lines 或 CSV 文件").format(
            file=path, error=exc)) from None


def _kind_rejection(item: Any, config: SourceConfig, key: str | bytes) -> Rejection | None:
    """An item that names a kind other than the source's is refused (it belongs to another source)."""
    if isinstance(item, dict) and "kind" in item and item["kind"] != config.kind:
        sid = item.get("id")
        reason = Message(N_("wrong_kind: 来源 {source} 只提供 {kind} 记录，此条为 {got}；请用对应来源导入"),
                         source=config.name, kind=config.kind, got=repr(item["kind"]))
        return Rejection(reason, None if sid is None else str(sid), safe_raw(item, config, key), "wrong_kind")
    return None


def import_items(
    engine: sa.Engine,
    config: SourceConfig,
    items: list[Any],
    *,
    kinds: RecordKinds,
    key: str | bytes,
    now: datetime,
    complete_up_to: datetime | None = None,
    mapped: bool = False,
    known_regions: Container[str] | None = None,
    note_watermark: bool = True,
) -> ImportReport:
    """Store ``items`` as delivered by ``config``'s source (see the module), in one transaction.

    ``note_watermark=False`` (a source pushed to by people, such as field reports) leaves the source's
    watermark alone: a source that reports now and then must not hold live evaluation back for a day.

    Raises :class:`~domain.watermarks.HeartbeatError` for a refused ``complete_up_to`` (nothing stored).
    """
    shape = config if mapped else record_shape(config, kinds)
    mapping = CompiledMapping(shape, kinds, key, known_regions=known_regions,
                              utc_text=engine.dialect.name == "sqlite")
    rejections: list[Rejection] = []
    wanted: list[Any] = []
    for item in items:
        wrong = None if mapped else _kind_rejection(item, shape, key)
        if wrong is not None:
            rejections.append(wrong)
        else:
            wanted.append({k: v for k, v in item.items() if k != "source"} if isinstance(item, dict) else item)
    records, refused = mapping.map_page(wanted, now)
    rejections += refused
    report = ImportReport(quarantined=len(rejections), complete_up_to=complete_up_to)
    with session_scope(engine) as session:
        if note_watermark:
            note_delivery(session=session, source=config.name, ats=(r.at for r in records),
                          complete_up_to=complete_up_to, now=now)
        stats = upsert_prepared(session=session, records=records)
        for rej in rejections:
            quarantine(session=session, source=config.name, page="import", raw=rej.raw,
                       reason=rej.reason, source_id=rej.source_id)
    report.accepted = stats.inserted + stats.updated
    report.duplicates = len(records) - report.accepted  # unchanged, or repeated within the file
    return report


def record_line(record: Record) -> dict[str, Any]:
    """A stored record in the record shape (``backtest --records`` reads it), times in Beijing time."""
    return {"kind": record.kind, "source": record.source, "id": record.id,
            "at": record.at.astimezone(BEIJING).isoformat(), "region": record.region, **record.attributes}


def export_lines(engine: sa.Engine, since: datetime, until: datetime | None, kind: str | None) -> Iterator[str]:
    """JSON lines of the stored records with ``since <= at < until`` (of ``kind``), in the engine's order;
    read a day at a time so a long span never sits in memory whole."""
    for day in stored_days(engine, since, until)[1]:
        for record in day:
            if kind is None or record.kind == kind:
                yield json.dumps(record_line(record), ensure_ascii=False, default=str)


def stored_days(engine: sa.Engine, since: datetime, until: datetime | None) -> tuple[int, Iterator[list[Record]]]:
    """The stored records with ``since <= at < until`` a day at a time (24 hours from the first one's ``at``),
    so that a year of a city's records never sits in memory whole: how many days there are, and the days,
    each in the engine's order — Python's order of ``(at, source, id)``, whatever the database's collation —
    so that one after another they are the whole span in that order. ``(0, nothing)`` for an empty span."""
    with session_scope(engine) as session:
        span = record_span(session=session, since=since, until=until)
    if span is None:
        return 0, iter(())
    start, end = span[0], span[1] + timedelta(microseconds=1)
    return -(-(end - start) // timedelta(days=1)), _days(engine, start, end)


def _days(engine: sa.Engine, start: datetime, end: datetime) -> Iterator[list[Record]]:
    while start < end:
        stop = min(start + timedelta(days=1), end)
        with session_scope(engine) as session:
            day = records_between(session=session, since=start, until=stop)
        day.sort(key=_ENGINE_ORDER)
        yield day
        start = stop

