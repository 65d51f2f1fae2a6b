"""The 考核 report of one period: the ranked districts and streets, and the figures as JSON-ready data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.kaohe.compute import Deadlines, KaoheInputs, NodeFigures, Tally, compute_figures
from domain.kaohe.period import Period
from domain.kaohe.score import DEFAULT_WEIGHTS, Ranked, components, rank, validate_weights
from domain.regions import RegionDirectory, Tier


@dataclass(frozen=True)
class KaoheReport:
    """Districts and streets ranked, with the weights and deadlines they were judged by."""

    period: Period
    generated_at: datetime
    districts: list[Ranked]
    streets: list[Ranked]
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    deadlines: Deadlines = field(default_factory=Deadlines)

    def tier(self, tier: Tier) -> list[Ranked]:
        """The ranking of one tier (district or street)."""
        return self.districts if tier is Tier.district else self.streets


def make_kaohe_report(
    inputs: KaoheInputs, *, period: Period, now: datetime, regions: RegionDirectory,
    weights: Mapping[str, float] | None = None, deadlines: Deadlines | None = None,
) -> KaoheReport:
    """Compute the figures of every district and street and rank each tier."""
    w = validate_weights(weights if weights is not None else DEFAULT_WEIGHTS)
    limits = deadlines or Deadlines()
    figures = compute_figures(inputs, period=period, now=now, regions=regions, deadlines=limits)
    return KaoheReport(
        period=period, generated_at=now,
        districts=rank([f for f in figures if f.tier is Tier.district], w),
        streets=rank([f for f in figures if f.tier is Tier.street], w),
        weights=w, deadlines=limits,
    )


def _tally(t: Tally) -> dict[str, Any]:
    return {"met": t.met, "breached": t.breached, "pending": t.pending, "rate": t.rate}


def figures_to_dict(f: NodeFigures) -> dict[str, Any]:
    """One node's figures as plain data."""
    return {
        "code": f.code, "name": f.name, "tier": f.tier.value, "received": f.received,
        "ack": _tally(f.ack), "resolve": _tally(f.resolve), "escalated": f.escalated,
        "tasks": _tally(f.tasks), "visits": _tally(f.visits), "petitions": _tally(f.petitions),
        "disputes": _tally(f.disputes), "cases": _tally(f.cases),
    }


def ranked_to_dict(r: Ranked) -> dict[str, Any]:
    """A ranked node: place, score, component rates and figures."""
    return {"rank": r.rank, "score": r.score, "components": components(r.figures), **figures_to_dict(r.figures)}


def kaohe_to_dict(report: KaoheReport) -> dict[str, Any]:
    """The whole report as JSON-ready data (``fenghuo report --period … --json``)."""
    p = report.period
    d = report.deadlines
    return {
        "period": {"kind": p.kind, "first": p.first.isoformat(), "last": p.last.isoformat(), "label": p.label},
        "generated_at": report.generated_at.isoformat(),
        "weights": dict(report.weights),
        "deadlines": {"petition_days": d.petition.total_seconds() / 86400,
                      "dispute_days": d.dispute.total_seconds() / 86400,
                      "visit_hours": d.visit.total_seconds() / 3600},
        "districts": [ranked_to_dict(r) for r in report.districts],
        "streets": [ranked_to_dict(r) for r in report.streets],
    }
