"""Messages, reports and the CLI mask identifiers typed in any form, and keep region (grid) codes readable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.regions import RegionDirectory
from domain.situation.compute import OpenWarning
from integrations.notify.render import render
from integrations.report import text
from integrations.store.models import WarningRow

AT = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
# The grid code holds the mobile-like run 16001001001: it used to be masked as a phone.
GRID = "510116001001001"
REGIONS = RegionDirectory.from_mapping({"510100000000": "成都市", "510116000000": "双流区",
                                        "510116001000": "东升街道", "510116001001": "棠湖社区",
                                        GRID: "棠湖社区第1网格"})
TYPED = ("138-1234-5678", "510104 19800101 1234", "１３９１２３４５６７８", "028-8765 4321")
RAW = ("13812345678", "510104198001011234", "13912345678", "02887654321")


def _warning() -> WarningRow:
    return WarningRow(
        id=42, fingerprint="fp", rule="collective-petition", title=f"集体访 {TYPED[0]}", level="orange",
        region=GRID, tier="grid", route_region=GRID, first_at=AT, last_at=AT + timedelta(hours=1), occurrences=3,
        summary=f"网格 {GRID} 居民 {TYPED[1]} 反映，联系人 {TYPED[2]}",
        explanation=f"people=60 ≥ 50（座机 {TYPED[3]}，网格 {GRID}）", ack_due_at=AT + timedelta(minutes=30),
        resolve_due_at=AT + timedelta(hours=72),
    )


def _digits(s: str) -> str:
    return "".join(c for c in s.translate({cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}) if c.isdigit())


def test_a_grid_code_stays_readable_in_a_message_while_the_identifiers_beside_it_are_masked() -> None:
    message = render(_warning(), step="open", recipient="grid-duty", regions=REGIONS)
    whole = message.subject + "\n" + message.body
    assert f"网格 {GRID} 居民 510*** ******** **34" in whole
    assert "138-****-**78" in whole and "１３９******７８" in whole and "028-**** **21" in whole
    for raw in RAW:
        assert raw not in _digits(whole.replace(GRID, "")), raw


def test_the_report_masks_warning_titles() -> None:
    w = OpenWarning(id=1, level="red", rule="r", title=f"来电 {TYPED[0]} 网格 {GRID}", region=GRID,
                    region_path="成都市 / 双流区", opened_at=AT, escalation_step=0, acknowledged_at=None,
                    ack_due_at=None, ack_state="waiting")
    cells = text.severe_cells(w)
    assert cells[1] == f"来电 138-****-**78 网格 {GRID}"
