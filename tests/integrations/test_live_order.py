"""The invariant of live evaluation (issue 17): whatever the order, interleaving and batch sizes in which the
sources deliver (each its own records in event-time order), once every source has delivered up to the end
the warnings in the store equal one backtest over all the records.

Deliveries go through :func:`integrations.records_io.import_items` (what ``fenghuo records import`` and a
push do: records and the source's watermark in one transaction), evaluations through
:func:`integrations.evaluation.evaluate_pending`, at random points between deliveries.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from integrations.evaluation import evaluate_pending
from integrations.ingest.run import load_kinds
from integrations.records_io import import_items
from integrations.settings import get_settings
from integrations.sources.config import DEFAULT_SOURCES_FILE, load_sources
from integrations.store.checkpoint_models import EvaluatorCheckpointRow
from integrations.store.db import open_store
from integrations.store.grouped_state import GROUPED
from integrations.store.models import RecordRow, WarningRow
from rules.language.loader import load_rulebook
from rules.run.backtest import backtest
from rules.run.release_groups import kind_sources
from rules.run.testing import record_from_dict
from tests.store_templates import StoreTemplates

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
KEY = "test-pseudonym-key-of-32-bytes-or-more!"
# The simulator's departments (the register, also of kind care_visit_due, is read from the store).
SOURCES = {s.config.kind: s.config for s in load_sources(DEFAULT_SOURCES_FILE).specs if s.transport != "register"}
REGIONS = ["510104001001", "510104001002", "510104002001"]
PERSONS = ["p_" + f"{i:020x}" for i in range(1, 4)]  # pseudonyms already: stored as given
# Each kind's sources: live evaluation per release group (what the flows run); None: the single evaluator.
GROUPS = kind_sources((s.name, s.config.kind) for s in load_sources(DEFAULT_SOURCES_FILE).specs)
MODES = {"per group": GROUPS, "single": None}


@pytest.fixture(scope="module")
def book() -> Any:
    return load_rulebook()


@pytest.fixture(scope="module")
def kinds() -> Any:
    return load_kinds(get_settings().rulebook)


def _item(kind: str, minute: int, i: int, draw: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"kind": kind, "id": f"{kind}-{i}", "at": (T0 + timedelta(minutes=minute)).isoformat(),
                            "region": draw(st.sampled_from(REGIONS))}
    person = draw(st.sampled_from(PERSONS))
    if kind == "petition":
        item |= {"person": person, "people": draw(st.sampled_from([1, 6, 60])), "subject": "征地补偿"}
    elif kind == "dispute":
        item |= {"person": person, "type": "land", "status": draw(st.sampled_from(["open", "resolved"]))}
    else:
        item |= {"person": person, "program": "独居老人"}
    return item


@st.composite
def deliveries(draw: Any) -> tuple[list[dict[str, Any]], list[tuple[str, int, bool]]]:
    """Records of four kinds over ten days, and a delivery plan: (source kind, how many, evaluate after)."""
    records: list[dict[str, Any]] = []
    per_kind: dict[str, int] = {}
    span = 10 * 24 * 60
    for kind in ("petition", "dispute", "care_visit_due", "care_visit"):
        minutes = sorted(draw(st.sets(st.integers(0, span // 30).map(lambda m: m * 30), min_size=1, max_size=6)))
        records += [_item(kind, m, i, draw) for i, m in enumerate(minutes)]
        per_kind[kind] = len(minutes)
    plan: list[tuple[str, int, bool]] = []
    left = dict(per_kind)
    while any(left.values()):
        kind = draw(st.sampled_from(sorted(k for k, n in left.items() if n)))
        n = draw(st.integers(1, left[kind]))
        left[kind] -= n
        plan.append((kind, n, draw(st.booleans())))
    return records, plan


def _store_warnings(engine: sa.Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as s:
        rows = s.exec(select(WarningRow)).all()
    return sorted((w.rule, w.level, w.fingerprint, w.occurrences, w.first_at, w.last_at) for w in rows)


def _backtest_warnings(book: Any, kinds: Any, records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    recs = [record_from_dict({**r, "source": SOURCES[r["kind"]].name}, 0, kinds) for r in records]
    return sorted((w["rule"], w["level"], w["fingerprint"], w["occurrences"], datetime.fromisoformat(w["first_at"]),
                   datetime.fromisoformat(w["last_at"])) for w in backtest(book, sorted(recs, key=lambda r: r.key)))


@pytest.fixture
def fresh_store(store_templates: StoreTemplates) -> Iterator[Any]:
    """``make()`` → a migrated SQLite store of its own (a copy of the template), each call a new one."""
    made: list[sa.Engine] = []
    with tempfile.TemporaryDirectory() as folder:
        def make() -> sa.Engine:
            made.append(open_store(store_templates.sqlite_copy(Path(folder) / f"s{len(made)}.db")))
            return made[-1]

        yield make
        for eng in made:
            eng.dispose()


def deliver_in_order(engine: sa.Engine, book: Any, kinds: Any, records: list[dict[str, Any]],
                     plan: list[tuple[str, int, bool]], batch_size: int = 20_000,
                     groups: Any = GROUPS) -> None:
    """Every source says hello, then the plan's deliveries (each source's records in event-time order),
    then every source reports it is complete up to the end; evaluations where the plan says."""
    now = datetime.now(UTC)
    start, end = T0 - timedelta(hours=1), T0 + timedelta(days=11)
    for config in SOURCES.values():
        import_items(engine, config, [], kinds=kinds, key=KEY, now=now, complete_up_to=start)
    queues = {k: sorted((r for r in records if r["kind"] == k), key=lambda r: r["at"]) for k in SOURCES}
    for kind, n, evaluate in plan:
        batch, queues[kind] = queues[kind][:n], queues[kind][n:]
        import_items(engine, SOURCES[kind], batch, kinds=kinds, key=KEY, now=now)
        if evaluate:
            evaluate_pending(engine, book, now=now, batch_size=batch_size, kinds=groups)
    for config in SOURCES.values():
        import_items(engine, config, [], kinds=kinds, key=KEY, now=now, complete_up_to=end)
    evaluate_pending(engine, book, now=now, batch_size=batch_size, kinds=groups)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(deliveries(), st.sampled_from([1, 2, 3, 20_000]), st.sampled_from(list(MODES)))
def test_any_delivery_order_gives_the_backtest_warnings(book: Any, kinds: Any, fresh_store: Any,
                                                        case: tuple[list[dict[str, Any]], list[Any]],
                                                        batch_size: int, mode: str) -> None:
    """Small evaluation batches too: a batch never splits an instant (records at the same `at`)."""
    records, plan = case
    engine = fresh_store()
    deliver_in_order(engine, book, kinds, records, plan, batch_size, MODES[mode])
    event(mode)
    with Session(engine) as s:
        assert s.exec(select(sa.func.count()).select_from(RecordRow).where(RecordRow.late == True)).one() == 0  # noqa: E712
    expected = _backtest_warnings(book, kinds, records)
    event(f"rules fired: {sorted({w[0] for w in expected})}")
    assert _store_warnings(engine) == expected


@pytest.mark.parametrize("watermarks", [True, False])
def test_visits_before_their_due_record(book: Any, kinds: Any, fresh_store: Any, monkeypatch: pytest.MonkeyPatch,
                                        watermarks: bool) -> None:
    """The civil-affairs visits arrive before the due records they answer. Released by the watermarks the
    warnings are the backtest's (none); evaluated as they arrive (no release bound) a false absence fires,
    which is what the property test above would catch."""
    if not watermarks:
        monkeypatch.setattr("integrations.live_lane.release_bound", lambda *_: None)

    def rec(kind: str, rid: str, hours: int, person: str) -> dict[str, Any]:
        return {"kind": kind, "id": rid, "at": (T0 + timedelta(hours=hours)).isoformat(), "region": REGIONS[0],
                "person": person, "program": "独居老人"}

    due = rec("care_visit_due", "d1", 0, PERSONS[0])
    visits = [rec("care_visit", "v1", 1, PERSONS[0]), rec("care_visit", "v2", 120, PERSONS[1])]
    later = [rec("care_visit", "v3", 144, PERSONS[1])]
    plan = [("care_visit", 2, True), ("care_visit_due", 1, True), ("care_visit", 1, True)]
    engine = fresh_store()
    deliver_in_order(engine, book, kinds, [due, *visits, *later], plan)
    assert _backtest_warnings(book, kinds, [due, *visits, *later]) == []
    assert [w[0] for w in _store_warnings(engine)] == ([] if watermarks else ["care-visit-missed"])


def _demo_items(days: int = 10) -> dict[str, list[dict[str, Any]]]:
    """The simulator's month (a few days of it, at a fifth of the scale), each item's last version, per kind."""
    from integrations.simulator import generate

    last: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for entry in generate(seed=20260105, days=days, scale=0.2).entries():
        config = SOURCES[entry.kind]
        last[(entry.kind, str(entry.item[config.id_field]))] = (entry.kind, entry.item)
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in SOURCES}
    for kind, item in last.values():
        out[kind].append(item)
    for kind, items in out.items():
        items.sort(key=lambda it, f=SOURCES[kind].at_field: datetime.fromisoformat(it[f]))  # type: ignore[misc]
    return out


ORDERS = {
    "configured": list(SOURCES),
    "reversed": list(reversed(SOURCES)),
    "visits first": ["care_visit", "care_visit_due", "petition", "dispute", "hotline", "incident", "opinion"],
}


# Per release group (what the flows run) in every order; the single evaluator in one (the property test
# above covers it in random ones).
DEMO_CASES = [(o, w, "per group") for o in ORDERS for w in (False, True)] + [("configured", False, "single")]


@pytest.mark.parametrize(("order", "whole", "mode"), DEMO_CASES,
                         ids=[f"{o}-{'each source whole' if w else 'day by day'}-{m}" for o, w, m in DEMO_CASES])
def test_the_demo_data_in_several_source_orders(book: Any, kinds: Any, fresh_store: Any, order: str,
                                               whole: bool, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator's records delivered source after source (a day at a time, or each source all at once),
    evaluated after every delivery: the warnings equal the backtest of the exported records.

    Each evaluation is a new evaluator (``evaluate --once``): it restores the last checkpoint and replays the
    journal after it. Per release group, a checkpoint every 300 records, as wall time would bring them
    (``now`` stands still here, so the default 200,000 records would mean none, and each of the 77 runs
    replaying the whole month's journal): the runs restore checkpoints taken at every stage of the month,
    and replay a journal after each. The single evaluator keeps the default: its runs replay the whole
    journal from the start."""
    from integrations.records_io import export_lines
    from rules.run.backtest import parse_jsonl

    if mode == "per group":
        monkeypatch.setenv("FENGHUO_CHECKPOINT_EVERY_RECORDS", "300")
        get_settings.cache_clear()
    items = _demo_items()
    engine = fresh_store()
    now = datetime.now(UTC)
    checkpoints: set[int | None] = set()
    for config in SOURCES.values():  # every department is connected before the month starts
        import_items(engine, config, [], kinds=kinds, key=KEY, now=now, complete_up_to=T0 - timedelta(days=1))
    days = [T0 + timedelta(days=d + 1) for d in range(11)] if not whole else [T0 + timedelta(days=11)]
    for day_end in days:
        for kind in ORDERS[order]:
            config = SOURCES[kind]
            batch = [it for it in items[kind] if datetime.fromisoformat(it[config.at_field]) < day_end]
            items[kind] = items[kind][len(batch):]
            import_items(engine, config, batch, kinds=kinds, key=KEY, now=now, complete_up_to=day_end,
                         mapped=True)
            evaluate_pending(engine, book, now=now, kinds=MODES[mode])
            with Session(engine) as s:  # the checkpoint the next run restores
                checkpoints.add(getattr(s.get(EvaluatorCheckpointRow, GROUPED), "journal_id", None))
    if mode == "per group" and not whole:
        assert len(checkpoints) > 3, checkpoints  # checkpoints all through the month, restored by the runs
    exported = list(parse_jsonl(export_lines(engine, T0 - timedelta(days=1), None, None), kinds))
    assert len(exported) > 500
    expected = sorted((w["rule"], w["level"], w["fingerprint"], w["occurrences"]) for w in backtest(
        book, sorted(exported, key=lambda r: r.key)))
    got = [w[:4] for w in _store_warnings(engine)]
    assert got == expected
    assert {"care-visit-missed", "unresolved-dispute-then-petition"} <= {w[0] for w in got}


def test_a_rule_fed_by_one_department_does_not_wait_for_the_others(book: Any, kinds: Any, fresh_store: Any) -> None:
    """Every department is live, complete up to T0. A collective petition comes in from 信访 alone: per
    release group it opens at once, while the dispute-then-petition sequence (信访 and 调解) waits for 调解;
    the single evaluator, released by every source, opens nothing yet. Once 调解 has delivered past it,
    both modes hold the same warnings."""
    now = datetime.now(UTC)
    engines = {mode: fresh_store() for mode in MODES}
    dispute = {"kind": "dispute", "id": "d1", "at": (T0 - timedelta(hours=2)).isoformat(), "region": REGIONS[0],
               "person": PERSONS[0], "type": "land", "status": "open"}
    petition = {"kind": "petition", "id": "p1", "at": (T0 + timedelta(hours=1)).isoformat(), "region": REGIONS[0],
                "person": PERSONS[0], "people": 60, "subject": "征地补偿"}
    for mode, engine in engines.items():
        for config in SOURCES.values():
            import_items(engine, config, [], kinds=kinds, key=KEY, now=now, complete_up_to=T0 - timedelta(hours=3))
        import_items(engine, SOURCES["dispute"], [dispute], kinds=kinds, key=KEY, now=now)
        import_items(engine, SOURCES["petition"], [petition], kinds=kinds, key=KEY, now=now)
        evaluate_pending(engine, book, now=now, kinds=MODES[mode])
    grouped = {w[0] for w in _store_warnings(engines["per group"])}
    assert "collective-petition" in grouped and "unresolved-dispute-then-petition" not in grouped
    assert _store_warnings(engines["single"]) == []
    for mode, engine in engines.items():
        import_items(engine, SOURCES["dispute"], [], kinds=kinds, key=KEY, now=now,
                     complete_up_to=T0 + timedelta(hours=2))
        for config in SOURCES.values():
            import_items(engine, config, [], kinds=kinds, key=KEY, now=now, complete_up_to=T0 + timedelta(days=30))
        evaluate_pending(engine, book, now=now, kinds=MODES[mode])
    assert _store_warnings(engines["per group"]) == _store_warnings(engines["single"]) == _backtest_warnings(
        book, kinds, [dispute, petition])
    assert "unresolved-dispute-then-petition" in {w[0] for w in _store_warnings(engines["single"])}
