"""Import a department's register export (CSV or Excel) into the register (台账), all or nothing.

The file is read (:mod:`.files`: encoding detected and reported), its header matched and each row checked
(:mod:`domain.register_rows`: the ID number pseudonymised at the door). Then, in one transaction, rows of
people already open in the register in that category are set aside: unchanged if they say the same
(so importing a file again changes nothing), refused if they say otherwise (close the entry first). The
rest are added, the import is audited (counts and line numbers, never an ID number), and the transaction
commits — or, for a dry run, rolls back. A file-level problem (unreadable, undecodable, a missing column)
refuses the whole file before anything is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from domain.messages import N_, Message, message_of
from domain.register_rows import REASONS, HeaderError, RegisterEntry, RowProblem, check_rows, map_header
from domain.registers import CareCategories
from integrations.register_import.files import RegisterFileError, Table, read_table
from integrations.store.registers import (
    RegisterPersonRow,
    add_entries,
    audit_import,
    closed_entries,
    open_entries,
)

__all__ = ["ImportReport", "RegisterFileError", "import_register", "known_grids"]


def known_grids(regions: Path) -> dict[str, str]:
    """The grids (15-digit codes) of the region directory at ``regions``, with their names.

    Read with libyaml when it is there: a city's directory has thousands of grids, and the pure-Python
    reader takes a second over them."""
    import yaml

    from domain.regions import RegionDirectory

    if not regions.exists():
        return {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = regions.read_text(encoding="utf-8")
    data = yaml.load(text, Loader=loader) or {}  # nosec B506  (CSafeLoader or SafeLoader: a safe loader)
    names = data.get("regions", data) if isinstance(data, dict) else {}
    return {code: name for code, name in RegionDirectory.from_mapping(names or {}).names.items() if len(code) == 15}


@dataclass
class ImportReport:
    """What an import did: how the file was read, rows read, added, unchanged, refused (with lines)."""

    file: str
    format: str
    encoding: str
    read: int = 0
    added: list[int] = field(default_factory=list)
    """Ids of the new register entries."""
    unchanged: int = 0
    """Rows already in the register exactly as the file says (a re-import)."""
    problems: list[RowProblem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def kept(self) -> int:
        """Rows accepted: added now or already there unchanged."""
        return len(self.added) + self.unchanged

    def by_reason(self) -> dict[str, int]:
        """Refused rows by reason code, in :data:`~domain.register_rows.REASONS` order."""
        counts = Counter(p.reason for p in self.problems)
        return {reason: counts[reason] for reason in REASONS if counts[reason]}

    def as_dict(self) -> dict[str, Any]:
        """The report for JSON output and the audit (no personal data)."""
        return {"file": self.file, "format": self.format, "encoding": self.encoding, "read": self.read,
                "added": len(self.added), "unchanged": self.unchanged, "refused": len(self.problems),
                "refused_by_reason": self.by_reason(), "dry_run": self.dry_run, "ids": self.added,
                "problems": [{"line": p.line, "reason": p.reason, "message": p.message} for p in self.problems]}


def import_register(engine: sa.Engine, path: Path, *, categories: CareCategories, grids: Mapping[str, str],
                    pseudonym: Callable[[str], str], actor: str, now: datetime,
                    dry_run: bool = False) -> ImportReport:
    """Import ``path`` (see the module docstring); raises :class:`RegisterFileError` for a file refused whole.

    ``grids`` maps known 15-digit grid codes to names (the region directory's); ``pseudonym`` is the keyed
    pseudonym function (``domain.privacy``, the settings' key)."""
    table = read_table(path)
    try:
        columns = map_header(table.header)
    except HeaderError as exc:
        said = message_of(exc) or str(exc)
        raise RegisterFileError(Message(N_("{name}：{reason}"), name=path.name, reason=said) if table.format == "Excel"
                                else Message(N_("{name}：{reason}（文件编码识别为 {encoding}；"
                                                "若列名是乱码，请另存为 UTF-8）"),
                                             name=path.name, reason=said, encoding=table.encoding)) from None
    entries, problems = check_rows(table.rows, columns, categories=categories, grids=grids, pseudonym=pseudonym)
    problems += [RowProblem(line, "bad_encoding", Message(N_("本行不是 {encoding} 编码的文字（与文件其余部分不同），"
                                                             "请改正后单独导入"), encoding=table.encoding))
                 for line in table.undecodable]
    report = ImportReport(path.name, table.format, table.encoding, dry_run=dry_run,
                          read=_rows_read(table) + len(table.undecodable))
    with Session(engine) as session:
        fresh = _set_aside_registered(session, entries, report, problems, categories)
        report.added = add_entries(session, (_fields(e, path.name) for e in fresh), now=now)
        report.problems = sorted(problems, key=lambda p: p.line)
        if dry_run:
            session.rollback()
            return report
        audit_import(session, actor=actor, now=now, detail={
            **{k: v for k, v in report.as_dict().items() if k != "problems"},
            "lines_by_reason": {reason: [p.line for p in report.problems if p.reason == reason]
                                for reason in report.by_reason()}})
        session.commit()
    return report


def _rows_read(table: Table) -> int:
    return sum(1 for _, cells in table.rows if any(str(c).strip() for c in cells if c is not None))


def _set_aside_registered(session: Session, entries: list[RegisterEntry], report: ImportReport,
                          problems: list[RowProblem], categories: CareCategories) -> list[RegisterEntry]:
    """The entries not yet open in the register; counts the same ones as unchanged, refuses differing ones,
    and refuses an entry closed earlier with the same start (re-importing an old file must not undo a close)."""
    people = {e.person for e in entries}
    existing, closed = open_entries(session, people), closed_entries(session, people)
    fresh = []
    for entry in entries:
        row = existing.get((entry.person, entry.category))
        ended = closed.get((entry.person, entry.category, entry.start_date))
        if row is None and ended is not None:
            assert ended.closed_at is not None
            problems.append(RowProblem(entry.line, "closed_earlier", Message(
                N_("此人「{category}」台账（#{id}，{start} 起）已于 {closed} 注销（{reason}）；"
                   "如需重新纳入，请写新的开始日期"),
                category=categories.title(entry.category), id=ended.id, start=entry.start_date,
                closed=f"{ended.closed_at:%Y-%m-%d}", reason=ended.closed_reason)))
        elif row is None:
            fresh.append(entry)
        elif _same(row, entry):
            report.unchanged += 1
        else:
            problems.append(RowProblem(entry.line, "already_registered", Message(
                N_("此人已在「{category}」台账中（#{id}，网格 {grid}，{start} 起），与本行不同；"
                   "如需变更，请先注销（fenghuo register close {id}）再导入"),
                category=categories.title(entry.category), id=row.id, grid=row.grid, start=row.start_date)))
    return fresh


def _same(row: RegisterPersonRow, entry: RegisterEntry) -> bool:
    return (row.grid, row.start_date, row.end_date) == (entry.grid, entry.start_date, entry.end_date)


def _fields(entry: RegisterEntry, file: str) -> dict[str, Any]:
    return {"person": entry.person, "category": entry.category, "grid": entry.grid,
            "start_date": entry.start_date, "end_date": entry.end_date, "source_file": file[:255],
            "source_line": entry.line}
