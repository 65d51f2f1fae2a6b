"""The 考核 report's chart: each node's composite score as a horizontal bar, best on top (SVG).

Drawn like the daily report's charts (:mod:`integrations.report.charts`): matplotlib without pyplot,
labels in the language in force (SVG text for the browser's fonts without a CJK font), a fixed hash salt so
the same figures give the same file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from domain.kaohe.score import Ranked
from integrations.i18n import _
from integrations.report.charts import _rc, _save

MAX_BARS = 20
"""More nodes than this: the chart shows the first and the last ``MAX_BARS // 2``."""
GOOD, FAIR, POOR = "#2da44e", "#d4a72c", "#da3633"


def shown(ranked: Sequence[Ranked]) -> list[Ranked]:
    """The scored nodes the chart shows: all, or the top and bottom halves of :data:`MAX_BARS`."""
    scored = [r for r in ranked if r.score is not None]
    if len(scored) <= MAX_BARS:
        return scored
    return [*scored[: MAX_BARS // 2], *scored[-(MAX_BARS // 2) :]]


def _colour(score: float) -> str:
    return GOOD if score >= 90 else FAIR if score >= 70 else POOR


def score_chart(ranked: Sequence[Ranked], path: Path, *, title: str, font: str | None) -> Path:
    """Bars of the composite scores (0–100) of ``ranked`` under ``title`` (already in the language in force)."""
    import matplotlib
    from matplotlib.figure import Figure

    rows = shown(ranked)
    with matplotlib.rc_context(_rc(font)):
        fig = Figure(figsize=(9, 1.2 + 0.36 * max(len(rows), 2)))
        ax = fig.add_subplot()
        ax.set_title(title)
        if not rows:
            ax.text(0.5, 0.5, _("本期无可考核事项"), ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return _save(fig, path)
        ys = list(range(len(rows)))
        scores = [r.score or 0.0 for r in rows]
        ax.barh(ys, scores, color=[_colour(s) for s in scores], height=0.7)
        for y, s in zip(ys, scores, strict=True):
            ax.text(min(s + 1, 101), y, f"{s:.1f}", va="center", fontsize=8)
        ax.set_yticks(ys, [f"{r.rank}. {r.figures.name}" for r in rows])
        ax.invert_yaxis()  # first place on top
        ax.set_xlim(0, 108)
        ax.set_xlabel(_("综合得分"))
        ax.spines[["top", "right"]].set_visible(False)
        return _save(fig, path)
