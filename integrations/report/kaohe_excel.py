"""The 考核 report as an Excel workbook (openpyxl), for the offices that file it.

One sheet per tier (区县, 街道) with the columns of :data:`integrations.report.kaohe_text.COLUMNS` —
headers in the language in force, the header row frozen, rates formatted as percentages, scores to one decimal — and a
sheet 指标说明 with the definition of every figure. Empty cells mean no data (nothing to judge).
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from domain.kaohe.report import KaoheReport
from integrations.i18n import N_, _
from integrations.report import kaohe_text as text

DEFINITIONS_SHEET = N_("指标说明")
NUMBER_FORMATS = {"pct": "0.0%", "score": "0.0", "int": "0", "text": "@"}
_HEADER = Font(bold=True)
_FILL = PatternFill("solid", fgColor="F6F8FA")


def _width(header: str, fmt: str) -> float:
    # CJK characters are about two Latin ones wide.
    width = sum(2.2 if ord(ch) > 0x2E80 else 1.1 for ch in header) + 2
    return max(8.0, min(width, 40.0)) if fmt != "text" else 16.0


def write_workbook(report: KaoheReport, path: Path) -> Path:
    """Write the workbook of ``report`` to ``path`` (its folder is created)."""
    wb = Workbook()
    first = True
    for tier in text.TIERS:
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        first = False
        ws.title = _(text.TIER_WORDS[tier].sheet)
        ws.append([c.heading for c in text.COLUMNS])
        for i, column in enumerate(text.COLUMNS, 1):
            cell = ws.cell(row=1, column=i)
            cell.font, cell.fill = _HEADER, _FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            ws.column_dimensions[get_column_letter(i)].width = _width(column.heading, column.format)
        for r in report.tier(tier):
            ws.append([column.get(r) for column in text.COLUMNS])
            for i, column in enumerate(text.COLUMNS, 1):
                ws.cell(row=ws.max_row, column=i).number_format = NUMBER_FORMATS[column.format]
        ws.freeze_panes = "A2"
    ws = wb.create_sheet(_(DEFINITIONS_SHEET))
    ws.append([_("指标"), _("说明")])
    for cell in ws[1]:
        cell.font, cell.fill = _HEADER, _FILL
    for name, definition in text.definitions(report):
        ws.append([name, definition])
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 18, 100
    ws.freeze_panes = "A2"
    wb.properties.title = text.title(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
