"""The demo's noise-control summary: the counts by reason (silence, cluster, repeat limit), what became of
the held notifications, the stale warnings — and the demo's ingredients (a rule that goes stale, a cluster
that holds its streets, a duty officer's silence) in the shipped files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from domain.escalation import EscalationPolicy
from flows.demo_noise import NoiseCounts, noise_counts, noise_line
from integrations.route import route_warning
from integrations.store.db import session_scope
from integrations.store.inhibition import release_inhibited
from integrations.store.models import WarningRow
from integrations.store.silences import add_silence, release_held
from integrations.store.staleness import mark_stale
from rules.language.inhibitions import default_inhibitions
from rules.language.loader import load_rulebook
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, small_directory, warning

REPO = Path(__file__).resolve().parents[2]
BOOK = load_rulebook([REPO / "rules" / "catalog"])
POLICY = EscalationPolicy().with_default_inhibitions(default_inhibitions(BOOK.rules))
T0 = MONDAY_10_BJ


def _open(engine: sa.Engine, rule: str, level: str, region: str, fp: str, minutes: int, **kw: object) -> int:
    w = warning(level, region=region, rule=rule, fingerprint=fp, **kw)
    with session_scope(engine) as s:
        s.add(w)
        s.flush()
        route_warning(session=s, warning=w, change="opened", policy=POLICY, directory=small_directory(),
                      regions=REGIONS, now=T0 + timedelta(minutes=minutes))
    assert w.id is not None
    return w.id


def test_the_summary_counts_each_reason_and_what_became_of_the_held(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        add_silence(s, directory=small_directory(), author="s1", rule="collective-petition", region="510104001000",
                    level="yellow", category=None, until=T0 + timedelta(minutes=30), reason="听证会", now=T0,
                    max_length=timedelta(hours=72))
    silenced = _open(engine, "collective-petition", "yellow", "510104001001", "p1", 1)
    cluster = _open(engine, "street-cluster", "orange", "510104001000", "c", 2)
    held = _open(engine, "hotline-many-callers", "yellow", "510104001002", "h1", 3)
    spike = _open(engine, "hotline-complaint-spike", "yellow", "510105001001", "s1", 4, occurrences=5)
    with session_scope(engine) as s:
        row = s.get(WarningRow, spike)
        assert row is not None
        mark_stale(s, row, resolve_after=timedelta(hours=72), event_now=T0 + timedelta(days=4),
                   now=T0 + timedelta(days=4))
        resolved = s.get(WarningRow, silenced)
        assert resolved is not None
        resolved.status, resolved.open_key = "resolved", None
        source = s.get(WarningRow, cluster)
        assert source is not None
        source.status, source.open_key = "resolved", None
    with session_scope(engine) as s:
        release_held(s, now=T0 + timedelta(hours=1))
        release_inhibited(s, now=T0 + timedelta(hours=1))
    every = {"hotline-complaint-spike": timedelta(hours=24)}
    with Session(engine) as s:
        counts = noise_counts(s, every)
    assert counts.silenced >= 1 and counts.silenced == counts.outcome["not_needed"]
    assert set(counts.inhibited) == {cluster} and counts.clusters == {cluster: "street-cluster"}
    assert counts.outcome["pending"] == counts.inhibited[cluster] >= 1  # released: the warning is still open
    assert counts.repeat_limited == 4 and counts.stale == 1
    line = noise_line(counts)
    assert f"静默 {counts.silenced} 条" in line
    assert f"#{cluster}（街道预警聚集）{counts.inhibited[cluster]} 条" in line
    assert "notify_every）未再通知的触发 4 次" in line and "可办结的预警 1 条" in line
    assert f"不再需要（已办结）{counts.silenced} 条" in line and held != cluster


def test_nothing_held_says_so() -> None:
    line = noise_line(NoiseCounts())
    assert "暂缓通知 0 条" in line and "（无）" in line


def test_the_demo_has_a_rule_that_goes_stale_and_a_cluster_that_holds_its_streets() -> None:
    stale = [r for r in BOOK.rules if r.resolve_after is not None]
    assert any(r.id == "hotline-complaint-spike" and r.resolve_after == timedelta(hours=72)
               and r.notify_every == timedelta(hours=24) for r in stale)
    assert any(i.source == "street-cluster" and "collective-petition" in i.targets for i in POLICY.inhibitions)


def test_the_demo_prints_the_noise_line() -> None:
    from flows.demo import _noise_line

    assert _noise_line().startswith("降噪：暂缓通知 0 条")
