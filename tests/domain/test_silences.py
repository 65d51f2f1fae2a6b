"""Silences in the domain: what one covers (rule, region subtree, level and below, category, its time),
who may create one, and the fate of a held notification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.silences import Silence, covering, covers, level_covered, refusal, release_outcome
from domain.warnings import LEVELS
from tests.escalation_helpers import small_directory

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
DAY = timedelta(hours=72)


def silence(**kw: object) -> Silence:
    base: dict[str, object] = {"id": 1, "rule": "wage-arrears", "region": "510104001000", "level": None,
                               "category": None, "starts_at": T0, "until": T0 + timedelta(hours=2),
                               "reason": "工资发放日", "author": "s1"}
    base.update(kw)
    return Silence(**base)  # type: ignore[arg-type]


def hits(s: Silence, *, rule: str = "wage-arrears", region: str = "510104001001", level: str = "yellow",
         categories: tuple[str, ...] = (), at: datetime = T0 + timedelta(minutes=5)) -> bool:
    return covers(s, rule=rule, region=region, level=level, categories=categories, at=at)


def test_covers_the_region_subtree_only() -> None:
    s = silence()
    assert hits(s, region="510104001000") and hits(s, region="510104001001")
    assert hits(s, region="510104001001001")  # a grid under the street
    assert not hits(s, region="510104002000") and not hits(s, region="510104000000")


def test_covers_only_its_rule_and_time() -> None:
    s = silence()
    assert not hits(s, rule="collective-petition")
    assert not hits(s, at=T0 - timedelta(seconds=1))
    assert not hits(s, at=T0 + timedelta(hours=2))  # until is exclusive
    expired = silence(expired_at=T0 + timedelta(minutes=1))
    assert not hits(expired) and hits(expired, at=T0)


def test_level_means_that_level_and_below_and_category_must_be_behind_the_warning() -> None:
    s = silence(level="yellow", category="petition")
    assert hits(s, level="blue", categories=("petition",)) and hits(s, level="yellow", categories=("petition",))
    assert not hits(s, level="orange", categories=("petition",))  # a rise above the level breaks through
    assert not hits(s, level="yellow", categories=("hotline",))


@given(st.sampled_from([None, *[lv.value for lv in LEVELS]]), st.sampled_from([lv.value for lv in LEVELS]))
def test_level_coverage_is_monotone(silence_level: str | None, level: str) -> None:
    covered = level_covered(silence_level, level)
    lower = [lv.value for lv in LEVELS][: [lv.value for lv in LEVELS].index(level)]
    if covered:
        assert all(level_covered(silence_level, lo) for lo in lower)
    assert level_covered(None, level)


def test_covering_picks_the_oldest_matching_silence() -> None:
    a, b = silence(id=2), silence(id=1, region=None)
    found = covering([a, b], rule="wage-arrears", region="510104001001", level="blue", categories=(),
                     at=T0 + timedelta(minutes=1))
    assert found is not None and found.id == 1


def test_who_may_create_a_silence() -> None:
    d = small_directory()
    until = T0 + timedelta(hours=2)

    def why(author: str, region: str | None, level: str | None, end: datetime = until) -> str | None:
        return refusal(d, author, region=region, level=level, starts_at=T0, until=end, max_length=DAY)

    assert why("s1", "510104001001", "orange") is None  # the street covers its community
    assert "辖区" in (why("s1", "510105000000", "orange") or "")  # another district
    assert "辖区" in (why("c1", "510104001000", "blue") or "")  # a community cannot silence its street
    assert "市级" in (why("jj-duty", "510104000000", None) or "")  # no level covers red
    assert "市级" in (why("jj-duty", "510104000000", "red") or "")
    assert why("city-duty", "510104000000", "red") is None
    assert why("leader", None, None) is None
    assert "辖区" in (why("jj-duty", None, "orange") or "")  # no region: the whole city
    assert "未知" in (why("nobody", "510104000000", "blue") or "")
    assert "上限" in (why("city-duty", None, "blue", T0 + DAY + timedelta(seconds=1)) or "")
    assert "晚于" in (why("city-duty", None, "blue", T0) or "")


@given(st.booleans(), st.sampled_from(["open", "acknowledged", "resolved"]))
def test_release_outcome(still: bool, status: str) -> None:
    out = release_outcome(still_silenced=still, warning_status=status)
    assert out == ("keep" if still else "not_needed" if status == "resolved" else "send")
