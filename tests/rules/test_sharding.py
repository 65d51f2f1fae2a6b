"""Sharded evaluation (docs/design.md#scale-path): the plan, and the sharded run equal to the single run."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.records import Record
from rules.language.loader import Rulebook, load_rulebook
from rules.language.model import Rule
from rules.run.backtest import backtest
from rules.run.sharded import inline_runner, process_runner, sharded_backtest
from rules.run.sharding import is_district_local, kinds_watched, plan_shards, shard_of
from tests.rules.shard_samples import EXTRA_PLAN, EXTRA_RULES, synthetic_stream

RULEBOOK = Path(__file__).resolve().parents[2] / "rules" / "catalog"

CATALOG_PLAN = {
    "care-visit-missed": ("city", 0),
    "street-cluster": ("district", 1),
    "district-cluster": ("district", 2),
    "unresolved-dispute-then-petition": ("city", 0),
    "wage-arrears-sum": ("district", 0),
    "hotline-complaint-spike": ("district", 0),
    "hotline-many-callers": ("district", 0),
    "hotline-community-surge": ("district", 0),  # a baseline's history is per key: local like its window
    "serious-incident": ("city", 0),  # fingerprint (source, id): a record's new version may move district
    "opinion-negative-surge": ("district", 0),
    "opinion-volume-surge": ("district", 0),
    "collective-petition": ("district", 0),
    "repeat-petitioner": ("city", 0),
    "petition-street-surge": ("district", 0),
    "grid-gathering": ("district", 0),
    "grid-dispute-cluster": ("district", 0),
    "grid-safety-hazard": ("district", 0),
    "grid-petition-risk-realised": ("district", 0),  # joined on community
    # joined on (source, id): a case's later version may name another district
    "petition-acceptance-overdue": ("city", 0),
    "petition-conclusion-overdue": ("city", 0),
    "petition-extension-overdue": ("city", 0),
    "dispute-mediation-overdue": ("city", 0),
}


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Rulebook:
    """The default catalog plus the synthetic rules of shard_samples."""
    extra = tmp_path_factory.mktemp("shard") / "extra.yaml"
    extra.write_text(EXTRA_RULES, encoding="utf-8")
    loaded = load_rulebook([RULEBOOK, extra], rulebook=RULEBOOK)
    assert loaded.ok, loaded.errors
    return loaded


def _plan_of(rulebook: Any) -> dict[str, tuple[str, int]]:
    return {p.rule: (p.place, p.layer) for p in plan_shards(rulebook).rules}


def test_catalog_plan() -> None:
    assert _plan_of(load_rulebook(RULEBOOK, rulebook=RULEBOOK)) == CATALOG_PLAN


def test_synthetic_plan(book: Rulebook) -> None:
    assert _plan_of(book) == {**CATALOG_PLAN, **EXTRA_PLAN, "street-cluster": ("district", 2),
                              "district-cluster": ("district", 3)}
    assert plan_shards(book).layers == 4


@pytest.mark.parametrize(("spec", "local"), [
    ({"record": "hotline", "window": {"within": "1h", "by": ["street", "person"]}}, True),
    ({"record": "hotline", "window": {"within": "1h", "by": ["person"]}, "group_by": ["street"]}, False),
    ({"record": "hotline", "window": {"within": "1h", "by": ["street"]}, "group_by": ["person"]}, False),
    ({"record": "hotline", "window": {"within": "1h"}}, False),
    ({"record": "hotline", "window": {"within": "1h", "by": ["city"]}}, False),
    ({"record": "hotline"}, True),  # fingerprint defaults to region
    ({"record": "hotline", "group_by": []}, False),
    ({"record": "hotline", "group_by": ["grid"]}, True),
    ({"sequence": [{"record": "dispute"}, {"record": "petition"}], "join": ["person"], "within": "1d",
      "group_by": ["district"]}, False),
    ({"sequence": [{"record": "dispute"}, {"record": "petition"}], "join": ["person", "community"],
      "within": "1d"}, True),
    ({"absence": {"after": {"record": "care_visit_due"}, "missing": {"record": "care_visit"}},
      "join": ["district"], "within": "1d", "group_by": ["person"]}, False),
])
def test_district_local(spec: dict[str, Any], local: bool) -> None:
    rule = Rule.model_validate({"id": "r", "level": "blue", **spec}, context={"file": "t.yaml"})
    assert is_district_local(rule)[0] is local


def test_shard_of() -> None:
    assert shard_of("510104001002") == shard_of("510104001000") == shard_of("510104000000") == "510104000000"
    assert shard_of("510104001002003") == "510104000000"
    assert shard_of("510100000000") == "510100000000"  # above district: its own shard


def _same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    def key(w: dict[str, Any]) -> tuple[str, str]:
        return (w["fingerprint"], w["first_at"])

    assert sorted(a, key=key) == sorted(b, key=key)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sharded_equals_single(book: Rulebook, seed: int) -> None:
    records = synthetic_stream(seed)
    single = backtest(book, records)
    rules = {w["rule"] for w in single}
    # the stream exercises every place and layer: person-keyed, local, absences, each chained layer
    assert {"unresolved-dispute-then-petition", "care-missed-in-community", "street-cluster",
            "district-cluster", "city-warning-wave", "district-warning-then-petition"} <= rules
    assert any(w["occurrences"] > 1 for w in single)
    _same(single, sharded_backtest(book, records, runner=inline_runner))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), n=st.integers(1, 2500), days=st.floats(0.2, 5.0))
def test_sharded_equals_single_any_stream(book: Rulebook, seed: int, n: int, days: float) -> None:
    """Sparse or dense, short or long: ties at one minute, deadlines landing on records, silent districts."""
    records = synthetic_stream(seed, n=n, days=days)
    _same(backtest(book, records), sharded_backtest(book, records, runner=inline_runner))


def test_sharded_reference_engine(book: Rulebook) -> None:
    records = synthetic_stream(4, n=3000)
    _same(backtest(book, records, engine="reference"),
          sharded_backtest(book, records, runner=inline_runner, engine="reference"))


def test_sharded_in_processes(book: Rulebook) -> None:
    records = synthetic_stream(5, n=3000)
    _same(backtest(book, records), sharded_backtest(book, records, runner=process_runner(2, inline_below=0)))


def test_empty(book: Rulebook) -> None:
    assert sharded_backtest(book, [], runner=inline_runner) == []


def test_catalog_alone() -> None:
    catalog = load_rulebook(RULEBOOK, rulebook=RULEBOOK)
    records = synthetic_stream(6, n=4000)
    _same(backtest(catalog, records), sharded_backtest(catalog, records, runner=inline_runner))


def _stored(url: str, records: list[Any]) -> tuple[Any, Any]:
    from integrations.store.db import open_store, session_scope
    from integrations.store.records import records_between, upsert_records

    eng = open_store(url)
    with session_scope(eng) as s:
        upsert_records(session=s, records=records)
    first, last = min(r.at for r in records), max(r.at for r in records)
    until = last + timedelta(seconds=1)
    with session_scope(eng) as s:
        back = records_between(session=s, since=first, until=until)
    eng.dispose()
    return (first, until), back


@dataclass(frozen=True)
class Stored:
    """A filled store, what came back from it and the single (unsharded) run's warnings over that."""

    url: str
    since: datetime
    until: datetime
    single: list[dict[str, Any]]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stored(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, book: Rulebook) -> Stored:
    """One store a backend for the module's store tests, filled once (a migrated store and its records cost
    seconds on PostgreSQL; the tests only read it): a week of :func:`synthetic_stream`, and two districts
    whose only records (enough for warnings) come on one day mid-range, neither the first nor the last."""
    from tests.rules.shard_samples import CST

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('shard-store')}/fenghuo.db"
    else:
        url = request.getfixturevalue("pg_schemas")()
    late = datetime(2026, 3, 4, 10, tzinfo=CST)
    extra = [Record(kind="hotline", source="hotline", id=f"x{d}-{i}", at=late + timedelta(minutes=i),
                    region=f"5101{d}001001", attributes={"person": f"q{i}", "category": "noise", "status": "open"})
             for d in ("02", "99") for i in range(12)]
    (since, until), back = _stored(url, synthetic_stream(7, n=3000, days=7.0) + extra)
    return Stored(url, since, until, backtest(book, back))


@pytest.mark.parametrize("groups", [None, 2])
def test_sharded_from_store(book: Rulebook, stored: Stored, groups: int | None) -> None:
    """One shard per district, or runs of districts in one shard: the single run's warnings either way."""
    from integrations.store.shard_store import sharded_store_backtest

    got = sharded_store_backtest(book, stored.url, stored.since, stored.until, runner=inline_runner, groups=groups)
    _same(stored.single, got)


def test_groups_from_a_sample_still_read_every_district(book: Rulebook, stored: Stored,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of districts balanced on sampled days cover the districts the sample missed: the two districts
    whose only records come on a day outside the sample."""
    import integrations.store.shard_store as shard_store
    from integrations.store.shard_store import district_prefixes, sharded_store_backtest

    monkeypatch.setattr(shard_store, "SAMPLE_DAYS", 2)
    from sqlmodel import Session

    from integrations.store.db import make_engine

    eng = make_engine(stored.url)
    with Session(eng) as session:
        sampled = district_prefixes(session, stored.since, stored.until, sample=2)
        full = district_prefixes(session, stored.since, stored.until)
    eng.dispose()
    assert {"510102", "510199"} <= set(full) - set(sampled)  # the sample misses both
    assert {w["region"][:6] for w in stored.single} >= {"510102", "510199"}
    _same(stored.single, sharded_store_backtest(book, stored.url, stored.since, stored.until, runner=inline_runner,
                                                groups=2))


def test_covering_runs_touch_and_span_every_prefix() -> None:
    from integrations.store.shard_store import covering

    assert covering([("510100", "510105"), ("510106", "510107")]) == [("000000", "510105"), ("510106", "999999")]
    assert covering([("510104", "510104"), ("510110", "510112"), ("510120", "510120")]) == [
        ("000000", "510109"), ("510110", "510119"), ("510120", "999999")]
    assert covering([]) == [("000000", "999999")]


def test_district_groups() -> None:
    from integrations.store.shard_store import district_groups

    sizes = {"510100": 5, "510104": 40, "510105": 10, "510106": 30, "510107": 20}
    assert district_groups(sizes, None) == [(p, p) for p in sizes]
    assert district_groups(sizes, 9) == [(p, p) for p in sizes]
    # neighbours only, about half the records each: 5+40+10 | 30+20
    assert district_groups(sizes, 2) == [("510100", "510105"), ("510106", "510107")]
    assert district_groups(sizes, 1) == [("510100", "510107")]
    assert district_groups({}, 2) == []


@pytest.mark.integration
def test_flow_on_dask(book: Rulebook, tmp_path: Path, prefect_harness: None) -> None:
    from flows.sharded import backtest_sharded

    url = f"sqlite:///{tmp_path}/fenghuo.db"
    (since, until), back = _stored(url, synthetic_stream(8, n=1500, days=4))
    extra = tmp_path / "rules"
    extra.mkdir()
    for f in RULEBOOK.glob("*.yaml"):
        (extra / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (extra / "extra.yaml").write_text(EXTRA_RULES, encoding="utf-8")
    rb = load_rulebook(extra, rulebook=RULEBOOK)
    # the deployable flow, as the backtest-sharded deployment runs it: its shards in a Dask subflow. One
    # worker process: each shard still crosses into it and back, as with more, and every layer's shards are
    # gathered in the flow before the next; shards split over several processes are
    # test_sharded_in_processes's. A second worker costs about ten seconds of imports (Prefect, the rules).
    got = backtest_sharded(since, until, rules=extra, url=url, workers=1, groups=2)
    _same(backtest(rb, back), got)


def test_store_clock_finds_the_first_record_past_each_deadline(stored: Stored) -> None:
    """The clock over the store (a query per run of deadlines between two records, through the driver on
    SQLite) against a scan of the records: deadlines on a record's instant, between records, before the
    first and past the last, in time order and out of it, at instants several records share."""
    import random

    from sqlmodel import Session

    from integrations.store.db import make_engine
    from integrations.store.records import records_between
    from integrations.store.shard_store import store_clock

    eng = make_engine(stored.url)
    with Session(eng) as session:
        records = records_between(session=session, since=stored.since, until=stored.until)
        times = sorted({r.at.timestamp() for r in records})
        shared = [t for t in times if sum(r.at.timestamp() == t for r in records) > 1]
        rng = random.Random(5)
        picks = rng.sample(times, 150) + shared[:20] + [times[0] - 60, times[-1], times[-1] + 1]
        deadlines = sorted(picks + [t + rng.choice([-0.5, 1e-6, 0.25, 30.0]) for t in picks])
        deadlines += rng.sample(deadlines, 80)  # out of order: the held answer must not be reused wrongly
        clock = store_clock(session, stored.until)
        for d in deadlines:
            after = [r for r in records if r.at.timestamp() > d]
            want = None
            if after:
                first = min(r.at.timestamp() for r in after)
                source, sid = min((r.source, r.id) for r in after if r.at.timestamp() == first)
                want = (first, source, sid)
            assert clock(d) == want, d
    eng.dispose()
    assert shared, "the store holds instants several records share"


_INSTANTS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31),
                         timezones=st.just(UTC))


@given(_INSTANTS, _INSTANTS)
def test_deadlines_as_seconds_keep_their_instant_and_order(a: datetime, b: datetime) -> None:
    """The engine compares deadlines and record times as epoch seconds (``due < t``); the store clock turns a
    deadline back into a time (to the microsecond) and compares times. Both agree because every time here
    is whole microseconds and a double near today's epoch resolves well under half of one: the round trip
    is exact and the order is kept."""
    assert datetime.fromtimestamp(a.timestamp(), UTC) == a
    assert (a.timestamp() < b.timestamp()) == (a < b)


def test_a_later_layer_is_given_only_the_warnings_its_steps_can_take() -> None:
    """The catalog's clusters take yellow and above (street) or orange and above (district), never their own:
    a blue deadline warning — most of a year's warnings — is not shipped to them; the property tests above
    hold the warnings equal to the single run's with the filter in place."""
    from rules.run.sharded import taken_by

    book = load_rulebook()
    street = [r for r in book.rules if r.id == "street-cluster"]
    district = [r for r in book.rules if r.id == "district-cluster"]

    def warning(rule: str, level: str) -> tuple[Any, Record]:
        at = datetime(2026, 1, 5).astimezone()
        return ((0.0, "fenghuo", "x"), Record(kind="warning", source="fenghuo", id="x", at=at, region="510104001001",
                                              attributes={"rule": rule, "level": level}))

    takes_street, takes_district = taken_by(book, street), taken_by(book, district)
    assert not takes_street(warning("dispute-mediation-overdue", "blue"))
    assert takes_street(warning("serious-incident", "yellow"))
    assert not takes_district(warning("serious-incident", "yellow"))
    assert takes_district(warning("street-cluster", "orange")) and not takes_street(warning("street-cluster", "orange"))
    assert not takes_district(warning("district-cluster", "red"))


def test_a_shard_sends_back_records_only_for_warnings_a_later_layer_may_take(book: Rulebook) -> None:
    """Every chained warning comes back with its place and id (the single run numbers them all), but only
    those a later layer's steps may take come back as records; the last layer sends none. Explanations come
    back as text, the rows' shape. Taking more or fewer would change the warnings (the property tests)."""
    from rules.run.shard_run import run_shard
    from rules.run.sharded import layer_jobs

    plan = plan_shards(book)
    stream = sorted(synthetic_stream(11, n=1500, days=3.0), key=lambda r: (r.at.timestamp(), r.source, r.id))
    items = [((r.at.timestamp(), r.source, r.id), r) for r in stream]
    _, city = layer_jobs(book, plan, 0, "durable")
    assert city.kept is not None and ("serious-incident", "yellow") in city.kept
    assert ("dispute-mediation-overdue", "blue") not in city.kept
    mine = [x for x in items if x[1].kind in kinds_watched(city.rules)]
    got, every = run_shard(replace(city, items=mine)), run_shard(replace(city, items=mine, kept=None))
    assert got.chained, "the stream chains warnings"
    assert [(c.trigger, c.sub, c.id) for c in got.chained] == [(c.trigger, c.sub, c.id) for c in every.chained]
    for c, whole in zip(got.chained, every.chained, strict=True):
        assert whole.record is not None
        taken = (whole.record.attributes["rule"], whole.record.attributes["level"]) in city.kept
        assert c.record == (whole.record if taken else None)
    assert any(c.record is None for c in got.chained) and any(c.record is not None for c in got.chained)
    assert all(type(row["explanation"]) is str for _, _, row in got.warnings)  # text, not a Message tree
    _, last = layer_jobs(book, plan, plan.layers - 1, "durable")
    assert last.kept == frozenset()


def test_resolving_an_absence_keeps_everything_but_its_trigger() -> None:
    from rules.run.shard_run import Chained, ShardResult
    from rules.run.sharded import resolve

    at = datetime.fromisoformat("2026-01-02T00:00:00+08:00")
    rec = Record(kind="warning", source="fenghuo", id="fp-@000000001", at=at, region="510104001001",
                 attributes={"rule": "r", "level": "blue"})
    due = rec.at.timestamp()
    waiting = Chained(None, (0, due, 3, "test/r1"), due, "fp-@000000001", (at, rec.region, "r", "blue"))
    assert waiting.record == rec
    fired = Chained((1.0, "a", "b"), (1, 0.0, 2, ""), 1.0, "fq-@000000002")
    never = Chained(None, (0, due + 9, 4, "test/r2"), due + 9, "fr-@000000003")
    untaken = Chained(None, (0, due + 1, 5, "test/r3"), due + 1, "fs-@000000004")  # no later layer reads it
    asked: list[float] = []

    def clock(after: float) -> tuple[float, str, str] | None:
        asked.append(after)
        return (due + 5, "test", "r9") if after < due + 5 else None

    got = resolve(ShardResult("city", [], [waiting, fired, never, untaken], 7, 1.5), clock, due + 5)
    # the never-due one dropped (no record after its deadline); the one no layer takes is numbered by its deadline
    assert got.chained == [waiting._replace(trigger=(due + 5, "test", "r9")), fired, untaken]
    assert asked == [due]  # the store is asked only for what a later layer places
    assert (got.name, got.records, got.cpu) == ("city", 7, 1.5)
    assert resolve(ShardResult("city", [], [waiting], 1, 0.0), clock, None).chained == []  # no record at all


def test_chained_entries_travel_as_plain_tuples() -> None:
    """A year's city shard sends back hundreds of thousands of chained entries while the next shard waits on
    its process: they pickle as tuples, with no attribute dict to make first (a dataclass's, four times the
    cost), and come back equal, their record too."""
    import pickle

    from rules.run.shard_run import Chained

    at = datetime.fromisoformat("2026-01-02T00:00:00+08:00")
    c = Chained((1.0, "a", "b"), (1, 0.0, 2, ""), 1.0, "fq-@000000002", (at, "510104001001", "r", "blue"))
    assert isinstance(c, tuple) and not hasattr(c, "__dict__")
    back = pickle.loads(pickle.dumps(c, 5))
    assert back == c and back.record == c.record is not None and back.taken == c.taken


def test_a_shard_says_when_it_ran() -> None:
    import time

    from rules.run.shard_run import ShardJob, run_shard

    book = load_rulebook()
    before = time.time()
    got = run_shard(ShardJob("city", tuple(book.rules[:1]), book.version, book.calendars,
                             {r.id: i for i, r in enumerate(book.rules)}))
    assert before <= got.span[0] <= got.span[1] <= time.time()


def test_pool_workers_never_collect(book: Rulebook, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shard's result is pickled after the shard returns: its worker must not walk it with collections."""
    import gc
    from concurrent.futures import ProcessPoolExecutor

    import rules.run.sharded as sharded

    seen: list[bool] = []

    class Pool(ProcessPoolExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            seen.append(self.submit(gc.isenabled).result())

    monkeypatch.setattr(sharded, "ProcessPoolExecutor", Pool)
    records = synthetic_stream(6, n=500)
    # spawned: a forked worker would inherit the coordinator's pause whatever the pool's start does
    runner = process_runner(2, inline_below=0, context="spawn")
    _same(backtest(book, records), sharded_backtest(book, records, runner=runner))
    assert seen and not any(seen)
