"""How far back a rulebook's state reaches (rules.engine.lookback): what a rule edit replays."""

from __future__ import annotations

from datetime import timedelta

from rules.engine.lookback import ahead, kind_lookbacks, reach
from rules.language.loader import load_rulebook


def test_each_rule_kind_reaches_back_its_own_span() -> None:
    book = load_rulebook()
    assert reach(book.rule("collective-petition")) == timedelta(0)  # simple: no state
    assert reach(book.rule("repeat-petitioner")) == timedelta(days=30)  # the window
    assert reach(book.rule("petition-street-surge")) == timedelta(days=7 + 4 * 7)  # window + samples·every
    assert reach(book.rule("unresolved-dispute-then-petition")) == timedelta(days=7)  # the sequence's within
    assert reach(book.rule("petition-extension-overdue")) == timedelta(days=90)  # the absence's within


def test_the_producers_of_chained_rules_reach_back_their_consumers_spans_too() -> None:
    looks = kind_lookbacks(load_rulebook().rules)
    # A district cluster (7 d) counts street clusters (7 d), which count the other rules' warnings: 14 days more.
    assert looks["hotline"] == timedelta(days=29 + 14)
    assert looks["petition"] == timedelta(days=90 + 14)
    assert "warning" not in looks  # made again by the replay, never stored
    before = ahead(load_rulebook().rules)
    assert (before["district-cluster"], before["street-cluster"], before["serious-incident"]) == (
        timedelta(0), timedelta(days=7), timedelta(days=14))


def test_a_rulebook_without_chaining_reaches_back_only_its_rules() -> None:
    book = load_rulebook()
    alone = [r for r in book.rules if r.id in ("repeat-petitioner", "collective-petition", "serious-incident")]
    assert kind_lookbacks(alone) == {"petition": timedelta(days=30), "incident": timedelta(0)}
