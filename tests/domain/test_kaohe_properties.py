"""Properties of the 考核 score and ranking, and of the figures, on random inputs."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.kaohe.compute import KaoheInputs, NodeFigures, Tally, compute_figures
from domain.kaohe.period import period_containing
from domain.kaohe.score import COMPONENTS, rank, score
from domain.kaohe.views import Escalation, TaskFacts, WarningFacts
from domain.regions import RegionDirectory, Tier, ancestor

BJ = ZoneInfo("Asia/Shanghai")
WEEK = period_containing("week", datetime(2026, 1, 14).date())
NOW = datetime(2026, 1, 21, 8, tzinfo=BJ)
STREETS = ["510104001000", "510104002000", "510105001000", "510105002000"]
PLACES = [*STREETS, "510104001001", "510104002003007", "510105001004"]
CODES = st.sampled_from([f"5101{d:02d}{s:03d}000" for d in (4, 5, 6) for s in (1, 2, 3)])

tallies = st.builds(Tally, st.integers(0, 20), st.integers(0, 20), st.integers(0, 5))
figures = st.builds(
    NodeFigures, code=CODES, name=st.just(""), tier=st.just(Tier.street), received=st.integers(0, 30),
    ack=tallies, resolve=tallies, escalated=st.integers(0, 10), tasks=tallies, visits=tallies,
    petitions=tallies, disputes=tallies,
)
weights = st.dictionaries(st.sampled_from(COMPONENTS), st.floats(0.01, 5.0), min_size=1)


def _unique(nodes: list[NodeFigures]) -> list[NodeFigures]:
    return list({f.code: f for f in nodes}.values())


@settings(max_examples=60, deadline=None)
@given(st.lists(figures, max_size=9), tallies, st.integers(1, 20), weights)
def test_a_node_with_everything_on_time_scores_at_least_any_other(
    others: list[NodeFigures], base: Tally, met: int, w: dict[str, float],
) -> None:
    perfect = NodeFigures(code="510199001000", name="", tier=Tier.street, received=met,
                          ack=Tally(met, 0, base.pending), resolve=Tally(met, 0), tasks=Tally(met, 0),
                          visits=Tally(met, 0), petitions=Tally(met, 0), disputes=Tally(met, 0))
    best = score(perfect, w)
    assert best == 100.0
    for f in others:
        s = score(f, w)
        assert s is None or 0.0 <= s <= best
    ranked = rank([*_unique(others), perfect], w)
    place = next(r.rank for r in ranked if r.figures is perfect)
    assert all(r.rank > place for r in ranked if r.score is None or r.score < best)


@settings(max_examples=60, deadline=None)
@given(st.lists(figures, max_size=9).map(_unique), st.randoms(use_true_random=False), weights)
def test_ranking_is_deterministic_and_ties_go_by_code(
    nodes: list[NodeFigures], rnd: object, w: dict[str, float],
) -> None:
    import random

    assert isinstance(rnd, random.Random)
    shuffled = list(nodes)
    rnd.shuffle(shuffled)
    ranked = rank(nodes, w)
    assert rank(shuffled, w) == ranked
    assert [r.rank for r in ranked] == list(range(1, len(nodes) + 1))
    for a, b in itertools.pairwise(ranked):
        if a.score is None:
            assert b.score is None and a.figures.code < b.figures.code
        elif b.score is not None:
            assert a.score > b.score or (a.score == b.score and a.figures.code < b.figures.code)


minutes = st.integers(-60 * 24 * 10, 60 * 24 * 12)
delays = st.one_of(st.none(), st.integers(0, 60 * 24 * 4))


@st.composite
def warning_facts(draw: st.DrawFn, wid: int) -> WarningFacts:
    opened = WEEK.start + timedelta(minutes=draw(minutes))
    ack, res = draw(delays), draw(delays)
    return WarningFacts(
        id=wid, region=draw(st.sampled_from(PLACES)), opened_at=opened,
        acknowledged_at=opened + timedelta(minutes=ack) if ack is not None else None,
        resolved_at=opened + timedelta(minutes=res) if res is not None else None,
        ack_due_at=opened + timedelta(minutes=draw(st.integers(10, 240))),
        resolve_due_at=opened + timedelta(hours=draw(st.integers(2, 96))),
    )


@st.composite
def scenario(draw: st.DrawFn) -> KaoheInputs:
    n = draw(st.integers(0, 25))
    warnings = [draw(warning_facts(i)) for i in range(1, n + 1)]
    escalations = [Escalation(w.id, w.opened_at + timedelta(hours=1), draw(st.sampled_from(PLACES)))
                   for w in warnings if draw(st.booleans())]
    tasks = [TaskFacts(i, draw(st.sampled_from(PLACES)), WEEK.start + timedelta(minutes=draw(minutes)),
                       None if (d := draw(delays)) is None else WEEK.start + timedelta(minutes=d))
             for i in range(draw(st.integers(0, 10)))]
    return KaoheInputs(warnings=warnings, escalations=escalations, tasks=tasks)


@settings(max_examples=40, deadline=None)
@given(scenario(), st.randoms(use_true_random=False))
def test_districts_are_the_sum_of_their_streets_and_input_order_does_not_matter(
    inputs: KaoheInputs, rnd: object,
) -> None:
    import random

    assert isinstance(rnd, random.Random)
    regions = RegionDirectory()
    out = compute_figures(inputs, period=WEEK, now=NOW, regions=regions)
    shuffled = KaoheInputs(warnings=rnd.sample(list(inputs.warnings), len(inputs.warnings)),
                           escalations=list(reversed(inputs.escalations)), tasks=list(reversed(inputs.tasks)))
    assert compute_figures(shuffled, period=WEEK, now=NOW, regions=regions) == out
    by_code = {f.code: f for f in out}
    for district in {f.code for f in out if f.tier is Tier.district}:
        streets = [f for f in out if f.tier is Tier.street and ancestor(f.code, Tier.district) == district]
        d = by_code[district]
        assert d.received == sum(s.received for s in streets)
        for name in ("ack", "resolve", "tasks"):
            total = Tally()
            for s in streets:
                total = total + getattr(s, name)
            assert getattr(d, name) == total, name
        # Distinct warnings: a district never has fewer escalations than any one of its streets.
        assert all(d.escalated >= s.escalated for s in streets)
    for f in out:
        points = score(f)
        assert points is None or 0.0 <= points <= 100.0
