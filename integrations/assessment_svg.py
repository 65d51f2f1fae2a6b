"""The risk matrix picture of an assessment: a 5×5 probability × impact grid as inline SVG.

Each factor is plotted twice: a filled dot where it stands before mitigation and a hollow ring where its
residual stands after, joined by an arrow. Cells are shaded by the unweighted score probability × impact
against the scheme's cut-offs, so the picture reads at a glance; the level itself comes from the
weighted scores in the report's tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape

from domain.assessment import RiskFactor
from integrations.i18n import _

CELL = 64
LEFT, TOP = 70, 30
SIZE = 5 * CELL
COLOURS = {"high": "#f4b6b0", "medium": "#fbe3a1", "low": "#cfe8c6"}
BEFORE, AFTER = "#b3261e", "#1d5fa8"


def _cell_level(p: int, i: int, medium: float, high: float) -> str:
    s = p * i
    return "high" if s >= high else "medium" if s >= medium else "low"


def _centre(p: int, i: int, slot: int, count: int) -> tuple[float, float]:
    """Where the ``slot``-th of ``count`` marks in cell (p, i) goes, spread so none hides another."""
    x0, y0 = LEFT + (i - 1) * CELL, TOP + (5 - p) * CELL
    cols = 1 if count == 1 else 2 if count <= 4 else 3
    rows = -(-count // cols)
    step_x, step_y = CELL / (cols + 1), CELL / (rows + 1)
    return x0 + step_x * (slot % cols + 1), y0 + step_y * (slot // cols + 1)


def risk_matrix_svg(factors: Sequence[RiskFactor], *, medium: float = 8, high: float = 15,
                    title: str | None = None) -> str:
    """An ``<svg>`` element (no XML declaration, ready to inline in HTML or Markdown); its words in the
    language in force (FENGHUO_LANG), as SVG text the browser draws with its own fonts."""
    title = title or _("风险矩阵")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{LEFT + SIZE + 20}" '
             f'height="{TOP + SIZE + 60}" viewBox="0 0 {LEFT + SIZE + 20} {TOP + SIZE + 60}" '
             'font-family="sans-serif" font-size="12">',
             f"<title>{escape(title)}</title>",
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
             f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{AFTER}"/></marker></defs>']
    for p in range(1, 6):
        for i in range(1, 6):
            level = _cell_level(p, i, medium, high)
            x, y = LEFT + (i - 1) * CELL, TOP + (5 - p) * CELL
            parts.append(f'<rect class="cell {level}" x="{x}" y="{y}" width="{CELL}" height="{CELL}" '
                         f'fill="{COLOURS[level]}" stroke="#ffffff" stroke-width="2"/>')
            parts.append(f'<text x="{x + CELL - 4}" y="{y + 12}" text-anchor="end" fill="#777" '
                         f'font-size="9">{p * i}</text>')
    for n in range(1, 6):
        parts.append(f'<text x="{LEFT + (n - 0.5) * CELL}" y="{TOP + SIZE + 16}" text-anchor="middle">{n}</text>')
        parts.append(f'<text x="{LEFT - 10}" y="{TOP + (5.5 - n) * CELL + 4}" text-anchor="end">{n}</text>')
    parts.append(f'<text x="{LEFT + SIZE / 2}" y="{TOP + SIZE + 34}" text-anchor="middle">'
                 + escape(_("影响程度 →")) + "</text>")
    parts.append(f'<text transform="translate(18 {TOP + SIZE / 2}) rotate(-90)" text-anchor="middle">'
                 + escape(_("发生概率 →")) + "</text>")
    # Marks: lay every cell's marks out together so a before and an after in one cell do not overlap.
    cells: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)
    for f in factors:
        cells[(f.probability, f.impact)].append((f.ref, "before"))
        if (f.after_probability, f.after_impact) != (f.probability, f.impact):
            cells[(f.after_probability, f.after_impact)].append((f.ref, "after"))
    where: dict[tuple[str, str], tuple[float, float]] = {}
    for (p, i), marks in cells.items():
        for slot, mark in enumerate(marks):
            where[mark] = _centre(p, i, slot, len(marks))
    for f in factors:
        if (f.ref, "after") in where:
            (x1, y1), (x2, y2) = where[(f.ref, "before")], where[(f.ref, "after")]
            parts.append(f'<line class="move" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                         f'stroke="{AFTER}" stroke-width="1.5" stroke-dasharray="4 3" marker-end="url(#arrow)"/>')
    before, after = _("化解前"), _("化解后")
    for (ref, phase), (cx, cy) in where.items():
        ref_e = escape(ref)
        if phase == "before":
            parts.append(f'<circle class="factor before" data-ref="{ref_e}" cx="{cx:.1f}" cy="{cy:.1f}" r="11" '
                         f'fill="{BEFORE}"><title>{ref_e} {escape(before)}</title></circle>')
            parts.append(f'<text x="{cx:.1f}" y="{cy + 4:.1f}" text-anchor="middle" fill="#fff" '
                         f'font-size="10">{ref_e}</text>')
        else:
            parts.append(f'<circle class="factor after" data-ref="{ref_e}" cx="{cx:.1f}" cy="{cy:.1f}" r="11" '
                         f'fill="#fff" stroke="{AFTER}" stroke-width="2"><title>{ref_e} {escape(after)}</title>'
                         "</circle>")
            parts.append(f'<text x="{cx:.1f}" y="{cy + 4:.1f}" text-anchor="middle" fill="{AFTER}" '
                         f'font-size="10">{ref_e}</text>')
    legend_y = TOP + SIZE + 52
    parts.append(f'<circle cx="{LEFT + 6}" cy="{legend_y - 4}" r="6" fill="{BEFORE}"/>'
                 f'<text x="{LEFT + 16}" y="{legend_y}">{escape(before)}</text>'
                 f'<circle cx="{LEFT + 126}" cy="{legend_y - 4}" r="6" fill="#fff" stroke="{AFTER}" '
                 f'stroke-width="2"/><text x="{LEFT + 136}" y="{legend_y}">{escape(after)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
