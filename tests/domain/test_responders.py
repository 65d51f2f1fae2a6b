"""Responders directory: parsing, rota, fallback upward, the leadership as last resort."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from domain.responders import ResponderDirectory, recipients_for
from integrations.settings import PACKAGE_ROOT
from tests.escalation_helpers import MONDAY_10_BJ, MONDAY_22_BJ, chan, small_directory


def ids(rs: list[Any]) -> list[str]:
    return [r.id for r in rs]


def test_a_staffed_node_gets_its_own_responders() -> None:
    d = small_directory()
    assert ids(recipients_for("510104001001", "community", d, MONDAY_10_BJ)) == ["c1"]
    assert d.responder("c1") is not None and d.responder("c1").node == "510104001001"  # type: ignore[union-attr]


def test_an_empty_node_falls_back_upward() -> None:
    d = small_directory()
    assert ids(recipients_for("510104001002", "community", d, MONDAY_10_BJ)) == ["s1"]
    assert ids(recipients_for("510104002001", "community", d, MONDAY_10_BJ)) == ["jj-duty"]
    assert ids(recipients_for("510105001001", "community", d, MONDAY_10_BJ)) == ["city-duty"]


def test_off_duty_falls_back_upward() -> None:
    d = small_directory()
    assert ids(recipients_for("510104001001", "community", d, MONDAY_22_BJ)) == ["s1"]


def test_the_leadership_is_the_last_resort_and_the_step_above_the_city() -> None:
    d = small_directory().model_copy(update={"nodes": {}})
    assert ids(recipients_for("510104001001", "community", d, MONDAY_10_BJ)) == ["leader"]
    assert ids(recipients_for("510100000000", "leadership", small_directory(), MONDAY_10_BJ)) == ["leader"]


def test_specialist_units_are_looked_up_separately() -> None:
    d = small_directory()
    unit = "petition-office"
    assert ids(recipients_for("510104001000", "street", d, MONDAY_10_BJ, unit=unit)) == ["s1-petition"]
    assert ids(recipients_for("510104002000", "street", d, MONDAY_10_BJ, unit=unit)) == ["city-petition"]
    assert recipients_for("510104001000", "street", d, MONDAY_10_BJ, unit="no-such-unit") == []


def test_the_shipped_directory_loads_and_leaves_some_nodes_unstaffed() -> None:
    d = ResponderDirectory.load(PACKAGE_ROOT / "integrations" / "data" / "responders.yaml")
    assert d.city == "510100000000"
    for district in ("510104", "510105", "510106", "510107", "510108"):
        assert d.at_node(district + "000000"), district
    assert not d.at_node("510104003000")  # a street nobody staffs: its warnings go up to the district
    assert ids(recipients_for("510104003001", "community", d, MONDAY_10_BJ)) == ["jj-duty-office"]


@pytest.mark.parametrize(
    "broken",
    [
        {"city": "510100000000", "leadership": []},
        {"city": "510104000000", "leadership": [{"id": "x", "name": "x", "channels": chan("x")}]},
        {"city": "510100000000", "leadership": [{"id": "x", "name": "x", "channels": chan("x")}],
         "nodes": {"510104000000": {"responders": [{"id": "x", "name": "dup", "channels": chan("x")}]}}},
        {"city": "510100000000", "leadership": [{"id": "x", "name": "x", "channels": chan("x")}],
         "nodes": {"520104000000": {"responders": [{"id": "y", "name": "外市", "channels": chan("y")}]}}},
    ],
)
def test_broken_directories_are_rejected(broken: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ResponderDirectory.model_validate(broken)


def test_an_overnight_slot_covers_the_small_hours_of_the_next_day() -> None:
    from datetime import UTC, datetime

    from domain.responders import DutySlot

    night = DutySlot.model_validate({"days": ["fri"], "from": "20:00", "to": "08:00"})
    friday_23_bj = datetime(2026, 1, 9, 15, 0, tzinfo=UTC)
    saturday_03_bj = datetime(2026, 1, 9, 19, 0, tzinfo=UTC)
    saturday_09_bj = datetime(2026, 1, 10, 1, 0, tzinfo=UTC)
    thursday_23_bj = datetime(2026, 1, 8, 15, 0, tzinfo=UTC)
    assert night.covers(friday_23_bj) and night.covers(saturday_03_bj)
    assert not night.covers(saturday_09_bj) and not night.covers(thursday_23_bj)
    with pytest.raises(ValidationError):
        DutySlot.model_validate({"days": ["friday"]})
