"""Evaluation per release group (rules/run/grouped.py) under a model of the sources' deliveries.

:class:`Deliveries` models what the store does in live operation — records stored as sources deliver
them, each source's watermark, and per group the release of its kinds' records up to the bound of its
own sources (:func:`domain.watermarks.release_bound`) — so the release semantics can be checked against
one backtest without a database. A chained group (the clusters) takes its producers' warnings through a
chain buffer by default, or re-runs their rules in shadow (``shadow=True``): both are checked.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from domain.records import Record
from domain.warnings import Change, WarningState
from domain.watermarks import SourceMark, release_bound
from rules.engine.evaluate import Evaluator
from rules.language.loader import load_rulebook
from rules.run.grouped import GroupedEvaluator
from rules.run.release_groups import ReleasePlan, kind_sources, plan_release, single_group

T0 = datetime(2026, 1, 5, tzinfo=UTC)
NOW = datetime(2026, 12, 6, tzinfo=UTC)  # wall time: every source that delivered is live
SOURCE_OF = {"petition": "xinfang", "dispute": "mediation", "incident": "public-safety",
             "care_visit_due": "civil-affairs-due", "care_visit": "civil-affairs-visit"}
DECLARED = kind_sources([*((s, k) for k, s in SOURCE_OF.items()), ("register", "care_visit_due"),
                         ("hotline12345", "hotline"), ("opinion-monitor", "opinion")])
REGIONS = ["510104001001", "510104001002", "510104002001"]
PERSONS = ["p1", "p2", "p3"]


_book = functools.cache(load_rulebook)
"""The default rulebook, loaded once (not a fixture for the property test: hypothesis would print its
whole repr with a failing example, and a repr that long is itself an error under ``filterwarnings``)."""


@pytest.fixture(scope="module")
def book() -> Any:
    return _book()


class Deliveries:
    """The store in miniature: stored records, the sources' marks, per group what it has been fed."""

    def __init__(self, book: Any, plan: ReleasePlan, *, shadow: bool = False) -> None:
        self.book, self.plan, self.shadow = book, plan, shadow
        self.grouped = GroupedEvaluator(book, plan, shadow=shadow)
        self.stored: list[Record] = []
        self.marks: dict[str, SourceMark] = {}
        self.fed: dict[str, set[tuple[Any, ...]]] = {g.name: set() for g in plan.groups}
        self.changes: list[tuple[WarningState, Change]] = []

    def deliver(self, source: str, records: list[Record], complete_up_to: datetime | None = None) -> None:
        """A delivery: its records stored, the source's watermark moved (as ``note_delivery``)."""
        self.stored += records
        old = self.marks.get(source, SourceMark(source, None, None, None))
        latest = max([r.at for r in records] + ([old.latest_at] if old.latest_at else []), default=None)
        beat = max([t for t in (old.complete_up_to, complete_up_to) if t is not None], default=None)
        self.marks[source] = SourceMark(source, latest, beat, NOW)

    def evaluate(self, batch: int = 20_000) -> list[tuple[WarningState, Change]]:
        """One evaluation pass: each group fed what its sources release, in event-time order, then its clock."""
        out: list[tuple[WarningState, Change]] = []
        latest = max((r.at for r in self.stored), default=None)
        for name, g in self.grouped.groups.items():
            bound = release_bound(self.marks, {}, NOW, sources=g.group.sources)
            ready = sorted((r for r in self.stored if r.kind in g.kinds and r.key not in self.fed[name]
                            and (bound is None or r.at <= bound)), key=lambda r: r.key)
            self.fed[name].update(r.key for r in ready)
            clock = latest if bound is None or latest is None else min(bound, latest)
            chunks = [ready[i:i + batch] for i in range(0, len(ready), batch)] or [[]]
            for i, chunk in enumerate(chunks):
                out += g.feed(chunk, clock if i == len(chunks) - 1 else None)
        self.changes += out
        return out

    def restart(self) -> None:
        """Every group's state through JSON into a new grouped evaluator (a chained group's buffer too)."""
        snaps = json.loads(json.dumps(self.grouped.snapshots()))
        self.grouped.close()
        self.grouped = GroupedEvaluator(self.book, self.plan, snapshots=snaps, shadow=self.shadow)

    def buffers(self) -> list[Any]:
        """The chained groups' buffers (none in shadow)."""
        return [g.buffer for g in self.grouped.groups.values() if g.buffer is not None]


def rec(kind: str, minutes: int, n: int, region: str, person: str, **attrs: Any) -> Record:
    return Record(kind=kind, source=SOURCE_OF[kind], id=f"{kind}-{n}", at=T0 + timedelta(minutes=minutes),
                  region=region, attributes={"person": person, **attrs})


def _row(w: WarningState) -> tuple[Any, ...]:
    return (w.rule, w.level, w.fingerprint, w.occurrences, w.first_at, w.last_at)


def _backtest(book: Any, records: list[Record]) -> list[tuple[Any, ...]]:
    ev = Evaluator(book)
    try:
        ev.feed(sorted(records, key=lambda r: r.key))
        return sorted(map(_row, ev.warnings()))
    finally:
        ev.close()


class Case(NamedTuple):
    """A generated case; its repr is short (hypothesis prints it on failure, and a long one is a warning)."""

    records: list[Record]
    plan: list[tuple[str, int, bool]]
    restart_at: int | None

    def __repr__(self) -> str:
        def short(r: Record) -> str:
            a = r.attributes
            more = a.get("people", a.get("injured", a.get("status", "")))
            return f"{r.kind}@{int((r.at - T0).total_seconds() // 60)}m/{r.region[-4:]}/{a['person']}/{more}"

        return (f"Case(records=[{', '.join(map(short, self.records))}], plan={self.plan}, "
                f"restart_at={self.restart_at})")


@st.composite
def cases(draw: Any) -> Case:
    """Records of five kinds over ten days, a delivery plan — (kind, how many, evaluate after) — and the
    step after which the evaluator restarts from its snapshots (``None``: it never does)."""
    records: list[Record] = []
    span = 10 * 24 * 2  # half hours
    for kind in SOURCE_OF:
        halves = sorted(draw(st.sets(st.integers(0, span), min_size=1, max_size=6)))
        for n, h in enumerate(halves):
            region, person = draw(st.sampled_from(REGIONS)), draw(st.sampled_from(PERSONS))
            extra: dict[str, Any] = {
                "petition": {"people": draw(st.sampled_from([1, 6, 60])), "subject": "征地补偿"},
                "dispute": {"type": "land", "status": draw(st.sampled_from(["open", "resolved"]))},
                "incident": {"category": "火灾", "injured": draw(st.sampled_from([0, 3, 40])), "deaths": 0,
                             "address": "某路", "status": "open"},
            }.get(kind, {"program": "独居老人"})
            records.append(rec(kind, h * 30, n, region, person, **extra))
    left = {k: sum(1 for r in records if r.kind == k) for k in SOURCE_OF}
    plan: list[tuple[str, int, bool]] = []
    while any(left.values()):
        kind = draw(st.sampled_from(sorted(k for k, n in left.items() if n)))
        n = draw(st.integers(1, left[kind]))
        left[kind] -= n
        plan.append((kind, n, draw(st.booleans())))
    return Case(records, plan, draw(st.none() | st.integers(0, len(plan) - 1)))


def _deliver_all(model: Deliveries, records: list[Record], plan: list[tuple[str, int, bool]], batch: int,
                 restart_at: int | None) -> None:
    """Every source says hello, the records come as ``plan`` says, then every source completes; the model
    restarts from its snapshots after step ``restart_at``, if given."""
    for source in SOURCE_OF.values():  # every department says hello before the records start
        model.deliver(source, [], complete_up_to=T0 - timedelta(hours=1))
    queues = {k: sorted((r for r in records if r.kind == k), key=lambda r: r.key) for k in SOURCE_OF}
    for step, (kind, n, evaluate) in enumerate(plan):
        model.deliver(SOURCE_OF[kind], queues[kind][:n])
        queues[kind] = queues[kind][n:]
        if evaluate:
            model.evaluate(batch)
        if step == restart_at:
            model.restart()
    for source in SOURCE_OF.values():
        model.deliver(source, [], complete_up_to=T0 + timedelta(days=11))
    model.evaluate(batch)


def _swept() -> Case:
    """Found by the property test: the care absence (due on day 3) fires in a single run at the incident of
    day 7, which first moves time on and sweeps the street's warnings of day 0 out of the cluster window;
    so its warning makes no cluster there. The clusters must see time move the same way."""
    fire = {"category": "火灾", "injured": 0, "deaths": 0, "address": "某路", "status": "open"}
    records = [rec("petition", 0, 0, REGIONS[0], "p1", people=6, subject="征地补偿"),
               rec("dispute", 0, 0, REGIONS[0], "p1", type="land", status="open"),
               rec("incident", 0, 0, REGIONS[0], "p1", **fire),
               rec("incident", 7 * 24 * 60, 1, REGIONS[0], "p1", **fire),
               rec("care_visit_due", 0, 0, REGIONS[0], "p1", program="独居老人"),
               rec("care_visit", 0, 0, REGIONS[0], "p2", program="独居老人")]
    plan = [("care_visit", 1, False), ("care_visit_due", 1, False), ("dispute", 1, False), ("petition", 1, False),
            ("incident", 1, False), ("incident", 1, False)]
    return Case(records, plan, None)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.sampled_from([1, 3, 20_000]))
@example(_swept(), 1)
def test_per_group_release_in_any_delivery_order_gives_the_backtest(case: Case, batch: int) -> None:
    """Chain buffer == shadow == backtest, whatever the per-source delivery order, interleaving and batch
    size, across a restart from the snapshots (buffer included)."""
    book, (records, plan, restart_at) = _book(), case
    expected = _backtest(book, records)
    event(f"rules fired: {sorted({e[0] for e in expected})}")
    for shadow in (False, True):  # the chain buffer, then the shadow
        model = Deliveries(book, plan_release(book.rules, DECLARED), shadow=shadow)
        try:
            _deliver_all(model, records, plan, batch, restart_at)
            assert (shadow, sorted(map(_row, model.grouped.warnings()))) == (shadow, expected)
            opened = [w.fingerprint for w, c in model.changes if c is Change.opened]
            assert sorted(opened) == sorted(e[2] for e in expected)  # each warning opened once, by its own group
            assert len(model.buffers()) == (0 if shadow else 1)
            assert all(len(b) == 0 and b.late == 0 for b in model.buffers())  # all fed, none behind its place
        finally:
            model.grouped.close()


def _incident_and_sequence(book: Any, plan: ReleasePlan) -> tuple[list[list[str]], list[tuple[Any, ...]]]:
    """xinfang is live but silent (as are the care sources); a red incident and a dispute → petition sequence
    arrive meanwhile.
    The rules each pass opens, and the final warnings."""
    model = Deliveries(book, plan)
    try:
        for source in SOURCE_OF.values():
            model.deliver(source, [], complete_up_to=T0)
        passes: list[list[str]] = []

        def run() -> None:
            passes.append(sorted(w.rule for w, c in model.evaluate() if c is Change.opened))

        model.deliver("mediation", [rec("dispute", 60, 1, REGIONS[0], "p1", type="land", status="open")])
        model.deliver("public-safety", [rec("incident", 120, 1, REGIONS[1], "p2", category="爆炸", injured=40,
                                            deaths=3, address="某路", status="open")])
        run()  # the incident at once; the dispute waits for xinfang (silent since T0)
        model.deliver("xinfang", [rec("petition", 180, 1, REGIONS[0], "p1", people=1, subject="征地补偿")])
        run()  # the petition waits for mediation (its latest record is behind it)
        model.deliver("mediation", [], complete_up_to=T0 + timedelta(hours=4))
        run()  # both sources past the petition: the sequence fires
        for source in SOURCE_OF.values():
            model.deliver(source, [], complete_up_to=T0 + timedelta(hours=4))
        run()  # every source past everything
        return passes, sorted(map(_row, model.grouped.warnings()))
    finally:
        model.grouped.close()


def test_a_single_source_rule_fires_at_once_while_a_two_source_sequence_waits(book: Any) -> None:
    passes, final = _incident_and_sequence(book, plan_release(book.rules, DECLARED))
    assert passes == [["serious-incident"], [], ["unresolved-dispute-then-petition"], []]
    assert [w[:2] for w in final] == [("serious-incident", "red"), ("unresolved-dispute-then-petition", "orange")]
    # One global release (one group held by every source) kept both until the silent care sources moved on:
    passes, global_final = _incident_and_sequence(book, single_group(book.rules))
    assert passes == [[], [], [], ["serious-incident", "unresolved-dispute-then-petition"]]
    assert global_final == final


@pytest.mark.parametrize("shadow", [False, True], ids=["buffer", "shadow"])
def test_absence_warnings_reach_the_clusters_before_a_later_warning_that_arrived_first(book: Any,
                                                                                        shadow: bool) -> None:
    """Two care visits fall due in one street and are missed; a collective petition in that street comes
    after both deadlines. In a single run the petition is the first record past them: both absences
    fire there, then the petition, and its warning is the street's third — a street cluster. Live,
    xinfang delivers the petition while the civil-affairs sources lag: its warning opens at once, but
    the clusters take it only once the absences before it are fired and in their place."""
    model = Deliveries(book, plan_release(book.rules, DECLARED), shadow=shadow)
    try:
        for source in SOURCE_OF.values():
            model.deliver(source, [], complete_up_to=T0)
        model.deliver("civil-affairs-due", [rec("care_visit_due", 0, 1, REGIONS[0], "p1", program="独居老人"),
                                            rec("care_visit_due", 60, 2, REGIONS[1], "p2", program="独居老人")])
        petition = rec("petition", 78 * 60, 1, REGIONS[0], "p3", people=6, subject="征地补偿")
        model.deliver("xinfang", [petition])
        passes = [sorted(w.rule for w, c in model.evaluate() if c is Change.opened)]
        assert [len(b) for b in model.buffers()] == ([] if shadow else [1])  # the petition's warning, held
        model.deliver("civil-affairs-visit", [rec("care_visit", 80 * 60, 1, REGIONS[2], "p3", program="独居老人")])
        for source in ("civil-affairs-due", "mediation", "public-safety"):
            model.deliver(source, [], complete_up_to=T0 + timedelta(hours=80))
        passes.append(sorted(w.rule for w, c in model.evaluate() if c is Change.opened))
        assert passes == [["collective-petition"], ["care-visit-missed", "care-visit-missed", "street-cluster"]]
        final = sorted(map(_row, model.grouped.warnings()))
        assert final == _backtest(book, [*model.stored])
        cluster = next(w for w in model.grouped.warnings() if w.rule == "street-cluster")
        assert (cluster.level.value, cluster.first_at) == ("orange", petition.at)
        assert all(len(b) == 0 and b.late == 0 for b in model.buffers())
    finally:
        model.grouped.close()
