"""`fenghuo warnings list|show`, on screen and as JSON, mask identifiers typed in any form; grid codes stay."""

from __future__ import annotations

from datetime import UTC, datetime

from typer.testing import CliRunner

from flows.cli import app
from flows.console import open_engine
from integrations.store.db import session_scope
from integrations.store.models import WarningRow

runner = CliRunner()
AT = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
GRID = "510104001001001"
RAW = ("13812345678", "510104198001011234", "13912345678")


def _seed() -> int:
    row = WarningRow(fingerprint="fp-m", open_key="fp-m", rule="collective-petition", title="集体访 138-1234-5678",
                     level="orange", region=GRID, tier="grid", route_region=GRID, first_at=AT, last_at=AT,
                     summary=f"网格 {GRID} 居民 510104 19800101 1234 反映",
                     explanation="people=60 ≥ 50（来电 １３９１２３４５６７８）", records=["xinfang/1"],
                     rulebook_version="abc")
    with session_scope(open_engine()) as s:
        s.add(row)
        s.flush()
        assert row.id is not None
        return row.id


def _digits(s: str) -> str:
    return "".join(c for c in s.translate({cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}) if c.isdigit())


def test_list_and_show_mask_typed_identifiers_on_screen_and_in_json() -> None:
    wid = _seed()
    outputs = [runner.invoke(app, ["warnings", "list", "--json"]),
               runner.invoke(app, ["warnings", "show", str(wid)]),
               runner.invoke(app, ["warnings", "show", str(wid), "--json"])]
    for out in outputs:
        assert out.exit_code == 0, out.output
        assert "138-****-**78" in out.stdout
        assert GRID in out.stdout  # a place, readable
        for raw in RAW:
            assert raw not in _digits(out.stdout.replace(GRID, "")), (raw, out.stdout)
