"""The durable state of live evaluation per release group (issue 17): one checkpoint, a journal, a rebuild.

Live evaluation keeps one evaluator per release group (:mod:`rules.run.grouped`), each at its own
position over the same log. They are kept durable together, so the chained group's buffer of its
producers' warnings (:mod:`rules.run.chain_buffer`) is never out of step with them:

- **One checkpoint** (``evaluator_checkpoint`` row ``grouped``) holds every group's state, buffers
  included, and every group's position, written at one instant of the resident evaluator.
- **One journal row per group per pass** that moved it (named after the group, :func:`lane_name`):
  the position after the pass — arrival ``seq`` and the group's clock as ``watermark`` — and the
  warnings resolved before it. The rows of a pass are written in plan order (producers before the
  chained group) in the pass's transaction, so their ids give the order in which the groups were fed.
- **Replay** restores the checkpoint and feeds each row's records again (those its position consumed
  and the one before had not), of its group's kinds, in event-time order, with its clock: the groups
  come back exactly as after the last committed pass. It writes nothing (the warnings and notifications
  of those passes were committed with them).
- **Rebuild.** When the checkpoint cannot be continued — a new rulebook version, a new release plan
  (rules or ``sources.yaml`` moved a rule to another group), or a store last evaluated by the single
  global evaluator — the groups are rebuilt from the stored records of the lookback
  (:func:`integrations.store.rebuild.rebuild`) at the furthest position every old state had passed, the
  open warnings kept and nothing announced again. Records between that position and a faster group's
  are then evaluated again: their firings fold into the warnings they opened (an occurrence may be counted
  twice there; nothing is notified twice and nothing is missed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.records import Record
from domain.warnings import Change, WarningState
from integrations.store.checkpoint import (
    CheckpointWritten,
    consumed_between,
    last_checkpoint,
    store_checkpoint,
    write_checkpoint,
)
from integrations.store.checkpoint_models import EvaluatorBatchRow
from integrations.store.models import EvaluatorStateRow
from integrations.store.rebuild import Rebuilt, audit_rulebook, previous_files, rebuild
from integrations.store.release import Position
from rules.engine.state_codec import decode_state
from rules.language.loader import Rulebook
from rules.run.grouped import GroupedEvaluator
from rules.run.release_groups import ReleaseGroup, ReleasePlan

__all__ = ["GROUPED", "AllGroups", "GroupedLoaded", "lane_name", "load_grouped", "slowest_position",
           "store_grouped_checkpoint", "write_grouped_checkpoint"]

GROUPED = "grouped"
"""Name of the grouped evaluator's checkpoint and state rows."""

_LANE = "grp/"


def lane_name(group: ReleaseGroup) -> str:
    """The journal name of ``group``: changes whenever its name (its sources) or its rules do, so a
    journal row is never replayed into a group other than the one that wrote it."""
    digest = hashlib.sha256(f"{group.name}|{','.join(group.rules)}".encode()).hexdigest()[:16]
    return f"{_LANE}{digest}"


def _pos_json(p: Position) -> list[Any]:
    return [p.seq, p.upto.isoformat() if p.upto is not None else None]


def _pos(data: Any) -> Position:
    return Position(int(data[0]), datetime.fromisoformat(data[1]) if data[1] else None)


class AllGroups:
    """Every group of a :class:`GroupedEvaluator` fed together, as one evaluator: what the rebuild, the
    resolved-warnings sync and the checkpoint see. ``positions`` (by lane name) go into its snapshot."""

    def __init__(self, grouped: GroupedEvaluator, rulebook: Rulebook, positions: dict[str, Position]) -> None:
        self.grouped, self.rulebook, self.positions = grouped, rulebook, positions
        self.errors: list[Any] = []
        self._pending: list[Record] = []
        self._fed = False
        self.clock: datetime | None = None
        """Where a rebuild's replay ends (see :meth:`adopt`)."""
        self.lanes = {lane_name(g.group): name for name, g in grouped.groups.items()}

    def warnings(self) -> list[WarningState]:
        """Every group's open warnings."""
        return self.grouped.warnings()

    def resolve(self, fingerprint: str) -> bool:
        """Resolve ``fingerprint`` in whichever group holds it."""
        return any([g.evaluator.resolve(fingerprint) for g in self.grouped.groups.values()])

    def adopt(self, warnings: Iterable[WarningState]) -> None:
        """Each group takes the open warnings of its own rules. During a rebuild (:attr:`clock` set), what
        :meth:`feed` held back is fed first and every group's time moved to the clock: the replay is whole
        before the store's warnings replace the replayed ones."""
        if self._fed and self.clock is not None:
            self.flush(self.clock)
        ws = list(warnings)
        for g in self.grouped.groups.values():
            g.evaluator.adopt(w for w in ws if w.rule in g.owned)

    def feed(self, records: Iterable[Record]) -> list[tuple[WarningState, Change]]:
        """Feed records in event-time order to every group (the rebuild's chunks): an instant is held back
        until the next chunk, so each group's clock moves only past instants it has had whole."""
        batch = self._pending + list(records)
        self._fed = self._fed or bool(batch)
        cut = len(batch)
        while cut and batch[cut - 1].at == batch[-1].at:
            cut -= 1
        self._pending, ready = batch[cut:], batch[:cut]
        return self._all(ready, ready[-1].at) if ready else []

    def flush(self, clock: datetime | None) -> list[tuple[WarningState, Change]]:
        """Feed what :meth:`feed` held back, and move every group's time to ``clock``."""
        ready, self._pending = self._pending, []
        return self._all(ready, clock) if ready or clock is not None else []

    def _all(self, records: list[Record], clock: datetime | None) -> list[tuple[WarningState, Change]]:
        changes: list[tuple[WarningState, Change]] = []
        for name, g in self.grouped.groups.items():  # plan order: producers before the chained group
            changes += self.grouped.feed(name, [r for r in records if r.kind in g.kinds], clock)
            self.errors += g.evaluator.errors
        return changes

    def snapshot(self) -> dict[str, Any]:
        """The checkpoint's content: lane names in plan order, positions, each group's state."""
        return {"lanes": list(self.lanes), "positions": {k: _pos_json(p) for k, p in self.positions.items()},
                "groups": self.grouped.snapshots()}


@dataclass
class GroupedLoaded:
    """The groups as a start continues them."""

    groups: AllGroups
    restarted: bool
    """A new rulebook version: rebuilt from the stored records (:attr:`rebuilt`)."""
    journal_id: int
    replayed: int
    checkpoint_at: datetime | None
    rebuilt: Rebuilt | None = None
    resolved: list[str] = field(default_factory=list)
    fresh: bool = False
    """A store never evaluated: the checkpoint written at load pins the plan; a clean stop writes another."""


def _journal(session: Session, names: Iterable[str], after: int) -> list[EvaluatorBatchRow]:
    q = (select(EvaluatorBatchRow).where(col(EvaluatorBatchRow.name).in_(sorted(names)),
                                         col(EvaluatorBatchRow.id) > after).order_by(col(EvaluatorBatchRow.id)))
    return list(session.exec(q))


def _last_journal_id(session: Session) -> int:
    top = session.execute(sa.select(sa.func.max(col(EvaluatorBatchRow.id)))).scalar()
    return int(top or 0)


def _replay(session: Session, groups: AllGroups, rows: list[EvaluatorBatchRow]) -> int:
    records = 0
    for row in rows:
        for fingerprint in row.resolved:
            groups.resolve(fingerprint)
        name = groups.lanes[row.name]
        after = Position(row.consumed_seq, row.watermark)
        # A row of no records moved only the group's clock: nothing to read back.
        batch = (consumed_between(session, groups.positions[row.name], after, groups.grouped.groups[name].kinds)
                 if row.records else [])
        groups.grouped.feed(name, batch, row.watermark)
        groups.positions[row.name] = after
        records += len(batch)
    return records


def _furthest_common(session: Session, data: Mapping[str, Any] | None, after: int) -> tuple[Position, str]:
    """Where a rebuild starts, and the version it replaces: the position every old state had passed."""
    if data is not None:  # an older grouped state: its positions moved on by its journal
        positions = {k: _pos(v) for k, v in data.get("positions", {}).items()}
        for row in _journal(session, positions, after):
            positions[row.name] = Position(row.consumed_seq, row.watermark)
        ups = [p.upto for p in positions.values()]
        if not positions or any(u is None for u in ups):
            return Position(), ""
        return Position(min(p.seq for p in positions.values()), min(u for u in ups if u is not None)), ""
    state = session.get(EvaluatorStateRow, "main")  # the single global evaluator of old
    if state is None or state.watermark is None:
        return Position(), ""
    return Position(state.consumed_seq, state.watermark), state.rulebook_version


def load_grouped(session: Session, rulebook: Rulebook, plan: ReleasePlan, engine_name: str, *, now: datetime,
                 who: str) -> GroupedLoaded:
    """The groups of ``plan`` as the last committed pass left them, or rebuilt (see the module)."""
    names = [lane_name(g) for g in plan.groups]
    ck = last_checkpoint(session, GROUPED)
    data = decode_state(ck.state) if ck is not None else None
    if ck is not None and data is not None and ck.rulebook_version == rulebook.version and data.get("lanes") == names:
        grouped = GroupedEvaluator(rulebook, plan, engine_name, data["groups"])
        groups = AllGroups(grouped, rulebook, {k: _pos(v) for k, v in data["positions"].items()})
        rows = _journal(session, names, ck.journal_id)
        replayed = _replay(session, groups, rows)
        last = rows[-1].id if rows and rows[-1].id is not None else ck.journal_id
        return GroupedLoaded(groups, False, last, replayed, ck.written_at)
    start, old_version = _furthest_common(session, data, ck.journal_id if ck is not None else 0)
    if ck is not None:
        old_version = ck.rulebook_version
    groups = AllGroups(GroupedEvaluator(rulebook, plan, engine_name), rulebook, dict.fromkeys(names, start))
    groups.clock = start.upto
    rebuilt = rebuild(session, groups, rulebook, start)  # type: ignore[arg-type]  # AllGroups: as one evaluator
    groups.clock, groups.errors = None, []
    changed = old_version != rulebook.version
    if changed and (old_version or previous_files(session, rulebook.version) is None):
        audit_rulebook(session, old_version=old_version, rulebook=rulebook, event_at=start.upto, now=now, who=who,
                       rebuilt=rebuilt if old_version else None)
    journal_id = _last_journal_id(session)
    write_grouped_checkpoint(session, groups, journal_id=journal_id, now=now, who=who)
    return GroupedLoaded(groups, changed and bool(old_version), journal_id, 0, now,
                         rebuilt if old_version and changed else None, fresh=start.upto is None)


def slowest_position(groups: AllGroups) -> Position:
    """The position a checkpoint of ``groups`` is stored at: the furthest ``seq``, the slowest group's time."""
    ups = [p.upto for p in groups.positions.values() if p.upto is not None]
    return Position(max((p.seq for p in groups.positions.values()), default=0), min(ups, default=None))


def write_grouped_checkpoint(session: Session, groups: AllGroups, *, journal_id: int, now: datetime,
                             who: str) -> CheckpointWritten:
    """Every group's state and position at once (:func:`integrations.store.checkpoint.write_checkpoint`),
    dropping the journal rows of every lane it includes."""
    return write_checkpoint(session, GROUPED, groups, slowest_position(groups),  # type: ignore[arg-type]
                            journal_id=journal_id, now=now, who=who, journal_names=list(groups.lanes))


def store_grouped_checkpoint(session: Session, data: bytes, *, version: str, position: Position,
                             lanes: Iterable[str], journal_id: int, now: datetime, who: str) -> None:
    """The groups' state encoded earlier (:meth:`AllGroups.snapshot`, at ``position`` and ``journal_id``),
    stored as :func:`write_grouped_checkpoint` would have (:mod:`integrations.store.checkpoint_child`)."""
    store_checkpoint(session, GROUPED, data, version, position, journal_id=journal_id, now=now, who=who,
                     journal_names=list(lanes))
