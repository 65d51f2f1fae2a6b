"""The resident evaluator learns of warnings responders resolved from the audit's ``resolved`` rows
(:mod:`integrations.store.resolved_watch`): the next firing of a resolved fingerprint opens a new warning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.records import Record
from integrations.evaluation import live_evaluator
from integrations.store.db import session_scope
from integrations.store.models import WarningRow
from integrations.store.records import upsert_records
from integrations.store.resolution import close_warning
from integrations.store.resolved_watch import FULL_EVERY, ResolvedWatch
from rules.language.loader import load_rulebook
from tests.integrations.test_live_order import GROUPS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _petition(i: int, hours: float) -> Record:
    """A collective petition in one street: each one folds into the street's open warning."""
    return Record(kind="petition", source="xinfang", id=f"p{i}", at=T0 + timedelta(hours=hours),
                  region="510104001001", attributes={"people": 8, "subject": "征地补偿", "person": f"p_{i:020x}"})


def _store(engine: sa.Engine, records: list[Record]) -> None:
    with session_scope(engine) as s:
        upsert_records(session=s, records=records)


def _rows(engine: sa.Engine) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return sorted((w.rule, w.status) for w in s.exec(select(WarningRow)) if w.rule == "collective-petition")


def _resolve_all(engine: sa.Engine, now: datetime) -> None:
    with session_scope(engine) as s:
        for w in s.exec(select(WarningRow).where(WarningRow.rule == "collective-petition")).all():
            close_warning(s, w, actor="s1", reason="已处置", now=now)


def test_a_resolution_is_seen_at_the_next_pass_and_the_next_firing_opens_anew(engine: sa.Engine) -> None:
    book = load_rulebook()
    live = live_evaluator(engine, book, kinds=GROUPS, checkpoint_every=(1e9, 10**9))
    try:
        now = datetime.now(UTC)
        _store(engine, [_petition(1, 0)])
        live.run(now)
        assert _rows(engine) == [("collective-petition", "open")]
        _resolve_all(engine, now)
        _store(engine, [_petition(2, 1)])
        # Well within FULL_EVERY of the load: only the audit's resolved rows tell the evaluator.
        live.run(now + timedelta(seconds=1))
        assert _rows(engine) == [("collective-petition", "open"), ("collective-petition", "resolved")]
    finally:
        live.close()


class _Evaluator:
    def __init__(self, open_: list[str]) -> None:
        from domain.warnings import Level, WarningState

        self.open = {fp: WarningState(fingerprint=fp, rule="r", level=Level.blue, region="510104001001", first_at=T0,
                                      last_at=T0, occurrences=1, explanation="", summary="", title="", records=(),
                                      rulebook_version="v") for fp in open_}

    def warnings(self) -> list[object]:
        return list(self.open.values())

    def resolve(self, fingerprint: str) -> bool:
        return self.open.pop(fingerprint, None) is not None


def _one_open_warning(engine: sa.Engine, now: datetime) -> str:
    """A collective petition evaluated at ``now``: the fingerprint of the warning it opened."""
    live = live_evaluator(engine, load_rulebook(), kinds=GROUPS, checkpoint_every=(1e9, 10**9))
    _store(engine, [_petition(1, 0)])
    live.run(now)
    live.close()
    with Session(engine) as s:
        return s.exec(select(WarningRow.fingerprint).where(WarningRow.rule == "collective-petition")).one()


def test_only_fingerprints_open_in_the_evaluator_and_closed_in_the_store_are_resolved(engine: sa.Engine) -> None:
    now = datetime.now(UTC)
    fp = _one_open_warning(engine, now)
    watch, ev = ResolvedWatch(), _Evaluator([fp, "gone"])
    with Session(engine) as s:  # the first call checks the whole open set: "gone" is open in no store row
        assert watch.sync(s, ev, now) == ["gone"]
    _resolve_all(engine, now)
    with Session(engine) as s:
        assert watch.sync(s, ev, now + timedelta(seconds=1)) == [fp]  # from the audit
        assert watch.sync(s, ev, now + timedelta(seconds=2)) == []  # read again (the overlap): nothing twice
    # A resolution the audit read missed is still found by the periodic whole check.
    ev2 = _Evaluator([fp])
    with Session(engine) as s:
        assert watch.sync(s, ev2, now + timedelta(seconds=3)) == [fp]  # the overlap re-reads it
        ev3 = _Evaluator([fp])
        watch.seen = 10**9  # as if the read had passed it
        assert watch.sync(s, ev3, now + timedelta(seconds=4)) == []
        assert watch.sync(s, ev3, now + FULL_EVERY + timedelta(seconds=5)) == [fp]


def test_the_passes_of_one_run_read_once_and_the_next_run_reads_again(engine: sa.Engine) -> None:
    now = datetime.now(UTC)
    fp = _one_open_warning(engine, now)
    watch, ev = ResolvedWatch(), _Evaluator([fp])
    with Session(engine) as s:
        assert watch.sync(s, ev, now) == []
    _resolve_all(engine, now)
    with Session(engine) as s:
        assert watch.sync(s, ev, now) == []  # a later pass of the same run (same now, within the second)
        assert watch.sync(s, ev, now + timedelta(milliseconds=1)) == [fp]  # the next run
