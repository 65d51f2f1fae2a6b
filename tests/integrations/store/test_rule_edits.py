"""A rule edit keeps history (issue 17), on SQLite and PostgreSQL: the new rulebook's windows are rebuilt
from the stored records of its lookback, what is open is not announced again, and the change is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.escalation import EscalationPolicy
from domain.records import Record
from integrations.evaluation import LiveEvaluator, live_evaluator
from integrations.route import Routing
from integrations.store.checkpoint_models import EvaluatorCheckpointRow
from integrations.store.db import session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.rebuild import RULEBOOK_CHANGED
from integrations.store.records import upsert_records
from rules.language.loader import Rulebook, load_rulebook
from tests.escalation_helpers import REGIONS, small_directory
from tests.integrations.test_live_order import GROUPS

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 2, 1, tzinfo=UTC)

RULES = """\
ruleset: edits
rules:
  - id: repeat-visitor
    title: {title}
    record: petition
    window: {{within: 7d, by: [person], aggregate: count}}
    levels:
{levels}
"""
YELLOW_AT_3 = "      - {level: yellow, when: {count: {gte: 3}}}\n"
ORANGE_AT_4 = YELLOW_AT_3 + "      - {level: orange, when: {count: {gte: 4}}}\n"


MODES = {"single": None, "per group": GROUPS}
_kinds: dict[str, object] = {"now": None}


@pytest.fixture(autouse=True, params=list(MODES))
def mode(request: pytest.FixtureRequest) -> str:
    """Each test with the single evaluator and with live evaluation per release group."""
    _kinds["now"] = MODES[request.param]
    return str(request.param)


def _live(engine: sa.Engine, book: Rulebook, **options: object) -> LiveEvaluator:
    return live_evaluator(engine, book, kinds=_kinds["now"], **options)  # type: ignore[arg-type]


def _write(folder: Path, title: str = "重复信访", levels: str = YELLOW_AT_3) -> Rulebook:
    (folder / "edits.yaml").write_text(RULES.format(title=title, levels=levels), encoding="utf-8")
    book = load_rulebook([folder])
    assert book.ok, book.errors
    return book


def _petition(i: int, days: float, person: str = "p_a") -> Record:
    return Record(kind="petition", source="xinfang", id=f"p{i}", at=T0 + timedelta(days=days),
                  region="510104001001", attributes={"people": 1, "subject": "征地补偿", "person": person})


def _store(engine: sa.Engine, records: list[Record]) -> None:
    with session_scope(engine) as s:
        upsert_records(session=s, records=records)


def _run(engine: sa.Engine, book: Rulebook, routed: bool = False) -> LiveEvaluator:
    routing = Routing(EscalationPolicy(), small_directory(), REGIONS) if routed else None
    live = _live(engine, book, routing=routing, batch_size=2, checkpoint_every=(1e9, 10**9), who="test")
    try:
        live.run(NOW)
    finally:
        live.close()
    return live


def _warnings(engine: sa.Engine) -> list[tuple[str, str, int]]:
    with Session(engine) as s:
        return sorted((w.rule, w.level, w.occurrences) for w in s.exec(select(WarningRow)))


def _outbox(engine: sa.Engine) -> int:
    with Session(engine) as s:
        return len(list(s.exec(select(OutboxRow))))


def _edits(engine: sa.Engine) -> list[AuditRow]:
    with Session(engine) as s:
        return list(s.exec(select(AuditRow).where(AuditRow.action == RULEBOOK_CHANGED).order_by(col(AuditRow.id))))


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    return folder


def test_a_count_window_straddling_an_edit_counts_the_records_before_it(engine: sa.Engine, rules_dir: Path) -> None:
    _store(engine, [_petition(1, 0), _petition(2, 1), _petition(3, 1.5, person="p_b")])
    _run(engine, _write(rules_dir))
    assert _warnings(engine) == []
    edited = _write(rules_dir, title="重复信访（改）")  # only the title: another version all the same
    _store(engine, [_petition(4, 2)])
    live = _run(engine, edited)
    # Empty windows after the edit (before issue 17) counted 1 here and stayed silent.
    assert live.restarted and _warnings(engine) == [("repeat-visitor", "yellow", 1)]
    with Session(engine) as s:
        ck = s.get(EvaluatorCheckpointRow, "main" if _kinds["now"] is None else "grouped")
        assert ck is not None and ck.rulebook_version == edited.version  # rebuilt once: no rebuild at restart
    again = _live(engine, edited, checkpoint_every=(1e9, 10**9))
    again.close()
    assert not again.restarted and again.replayed == 1  # the checkpoint at the edit, then p4's batch


def test_records_older_than_the_lookback_are_not_replayed(engine: sa.Engine, rules_dir: Path) -> None:
    _store(engine, [_petition(1, 0), _petition(2, 8)])  # p1 is 8 days before p2: outside a 7-day window
    _run(engine, _write(rules_dir))
    edited = _write(rules_dir, levels="      - {level: yellow, when: {count: {gte: 2}}}\n")
    _store(engine, [_petition(3, 9.5)])
    _run(engine, edited)
    assert _warnings(engine) == [("repeat-visitor", "yellow", 1)]  # p2 and p3: 2 in 7 days, p1 long gone


def test_an_edit_announces_nothing_again_and_a_new_level_rises_at_the_next_firing(
        engine: sa.Engine, rules_dir: Path) -> None:
    _store(engine, [_petition(i, i * 0.5) for i in range(4)])
    _run(engine, _write(rules_dir), routed=True)
    assert _warnings(engine) == [("repeat-visitor", "yellow", 2)]
    notified = _outbox(engine)
    assert notified > 0
    # The edit makes 4 in 7 days orange: the 4 replayed records reach it, but that is history.
    edited = _write(rules_dir, levels=ORANGE_AT_4)
    _run(engine, edited, routed=True)
    assert _warnings(engine) == [("repeat-visitor", "yellow", 2)] and _outbox(engine) == notified
    _store(engine, [_petition(9, 2.5)])  # the next firing: 5 in 7 days, orange now
    _run(engine, edited, routed=True)
    assert _warnings(engine) == [("repeat-visitor", "orange", 3)]
    assert _outbox(engine) > notified  # the rise is told, once
    raised = _outbox(engine)
    _store(engine, [_petition(10, 2.6)])
    _run(engine, _write(rules_dir, title="再改", levels=ORANGE_AT_4), routed=True)  # another edit: a fold, silent
    assert _warnings(engine) == [("repeat-visitor", "orange", 4)] and _outbox(engine) == raised


def test_the_edit_is_audited_with_versions_files_time_and_process(engine: sa.Engine, rules_dir: Path) -> None:
    (rules_dir / "other.yaml").write_text(
        "ruleset: other\nrules:\n  - {id: big-petition, record: petition, where: {people: {gte: 500}}, level: red}\n",
        encoding="utf-8")
    _store(engine, [_petition(1, 0), _petition(2, 1)])
    first = _write(rules_dir)
    _run(engine, first)
    assert [r.detail["new_version"] for r in _edits(engine)] == [first.version]  # the first version's files
    edited = _write(rules_dir, title="改")
    _run(engine, edited)
    rows = _edits(engine)
    assert len(rows) == 2
    row = rows[-1]
    d = row.detail
    assert (d["old_version"], d["new_version"]) == (first.version, edited.version)
    assert [Path(n).name for n in d["changed"]] == ["edits.yaml"] and d["added"] == d["removed"] == []
    assert datetime.fromisoformat(d["event_at"]) == T0 + timedelta(days=1)  # where evaluation stood
    assert d["pid"] > 0 and d["host"] and d["process"] == "test" and d["wall_at"]
    assert d["replayed"] == 2 and row.warning_id is None and "edits.yaml" in row.reason
    _run(engine, edited)
    assert len(_edits(engine)) == 2  # a restart with the same version audits nothing


def test_a_hot_edit_while_the_resident_evaluator_runs_takes_effect_at_the_next_batch(
        engine: sa.Engine, rules_dir: Path) -> None:
    from flows.live import follow
    from integrations.settings import get_settings

    _write(rules_dir)
    _store(engine, [_petition(1, 0), _petition(2, 1)])
    settings = get_settings().model_copy(update={"rulebook": rules_dir})
    said: list[str] = []
    calls = {"n": 0}

    def stop() -> bool:  # called before each batch: the second one finds the file edited and a record more
        calls["n"] += 1
        if calls["n"] == 2:
            assert _mine(engine) == []
            _write(rules_dir, title="重复信访（热改）")
            _store(engine, [_petition(3, 2)])
        return calls["n"] > 2

    follow(engine, say=said.append, poll_s=0.01, who="test-follow", stop=stop, settings=settings)
    assert _mine(engine) == [("repeat-visitor", "yellow", 1)]
    assert any("已用回溯期内存储的 2 条记录重建" in line for line in said), said
    assert [r.detail["process"] for r in _edits(engine)] == ["test-follow", "test-follow"]


def _mine(engine: sa.Engine) -> list[tuple[str, str, int]]:
    return [w for w in _warnings(engine) if w[0] == "repeat-visitor"]  # not the sources' source-stale ones


CHAINED = """\
ruleset: chained
rules:
  - id: big-visit
    title: {title}
    record: petition
    where: {{people: {{gte: 5}}}}
    group_by: [person]
    level: yellow
  - id: big-visit-cluster
    title: 多起集体访
    record: warning
    where: {{rule: {{eq: big-visit}}}}
    window: {{within: 7d, by: [street], aggregate: count}}
    levels:
      - {{level: orange, when: {{count: {{gte: 3}}}}}}
"""


def test_a_cluster_window_straddling_an_edit_counts_the_warnings_before_it(engine: sa.Engine, rules_dir: Path) -> None:
    def book(title: str) -> Rulebook:
        (rules_dir / "chained.yaml").write_text(CHAINED.format(title=title), encoding="utf-8")
        loaded = load_rulebook([rules_dir])
        assert loaded.ok, loaded.errors
        return loaded

    big = [_petition(i, i, person=f"p_{i}").model_copy(update={"attributes": {"people": 9, "person": f"p_{i}"}})
           for i in range(3)]
    _store(engine, big[:2])
    _run(engine, book("集体访"))
    assert _warnings(engine) == [("big-visit", "yellow", 1), ("big-visit", "yellow", 1)]
    _store(engine, big[2:])
    _run(engine, book("集体访（改）"))
    # The two warnings before the edit are replayed into the cluster's window: the third makes a cluster.
    assert ("big-visit-cluster", "orange", 1) in _warnings(engine)


ABSENCE = """\
ruleset: care
rules:
  - id: visit-missed
    title: {title}
    absence:
      after: {{record: care_visit_due}}
      missing: {{record: care_visit}}
    join: [person]
    within: 72h
    level: yellow
"""


def _care(kind: str, i: int, days: float, person: str) -> Record:
    return Record(kind=kind, source="civil-affairs", id=f"c{i}", at=T0 + timedelta(days=days), region="510104001001",
                  attributes={"person": person, "program": "独居老人"})


def test_a_pending_absence_survives_an_edit_and_a_visit_before_it_still_answers_it(
        engine: sa.Engine, rules_dir: Path) -> None:
    def book(title: str) -> Rulebook:
        (rules_dir / "care.yaml").write_text(ABSENCE.format(title=title), encoding="utf-8")
        return load_rulebook([rules_dir])

    # Two visits fall due before the edit; one of them is made in time, before the edit too.
    _store(engine, [_care("care_visit_due", 1, 0, "c_a"), _care("care_visit_due", 2, 0.5, "c_b"),
                    _care("care_visit", 3, 1, "c_b")])
    _run(engine, book("走访逾期"))
    _store(engine, [_care("care_visit", 4, 4, "c_z")])  # time moves past both deadlines
    _run(engine, book("走访逾期（改）"))
    with Session(engine) as s:
        missed = [(w.rule, tuple(w.records)) for w in s.exec(select(WarningRow))]
    assert missed == [("visit-missed", ("civil-affairs/c1",))]  # c_a's, not c_b's: its visit was replayed too


def test_a_rebuild_that_fails_leaves_nothing_and_the_next_start_does_it_once(
        engine: sa.Engine, rules_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store(engine, [_petition(1, 0), _petition(2, 1)])
    _run(engine, _write(rules_dir))
    edited = _write(rules_dir, title="改")

    def killed(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed while checkpointing the rebuilt state")

    monkeypatch.setattr("integrations.store.live.write_checkpoint", killed)
    monkeypatch.setattr("integrations.store.grouped_state.write_checkpoint", killed)
    with pytest.raises(RuntimeError):
        _live(engine, edited, checkpoint_every=(1e9, 10**9))
    monkeypatch.undo()
    assert len(_edits(engine)) == 1  # the first version's row only: the audit rolled back with the rebuild
    _store(engine, [_petition(3, 2)])
    _run(engine, edited)
    assert len(_edits(engine)) == 2 and _warnings(engine) == [("repeat-visitor", "yellow", 1)]
