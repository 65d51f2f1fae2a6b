"""The composite score and the ranking of the 考核 report (pure).

Each component is a rate in [0, 1]: acknowledged on time, resolved on time, not escalated (1 − escalated
warnings / warnings received, floored at 0), tasks done on time, care visits done, petitions and disputes
concluded within their limits. The score is 100 × the weighted mean of the components the node has data
for (a component with nothing judged is left out and the weights of the others renormalised), so a node
with every deadline met and no escalation scores 100, the most any node can. A node with no component
has no score and ranks after every scored one. Ties rank by region code, so the ranking never depends on
the order of the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from domain.kaohe.compute import NodeFigures
from domain.messages import N_, Message

COMPONENTS: tuple[str, ...] = ("ack", "resolve", "escalation", "tasks", "visits", "cases")
"""The score's components, in the order they are shown."""
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "ack": 0.25, "resolve": 0.20, "escalation": 0.15, "tasks": 0.15, "visits": 0.10, "cases": 0.15,
}
"""The weights when ``integrations/data/kaohe.yaml`` sets none (they sum to 1, which is not required)."""
_DIGITS = 6
"""Scores are rounded, so equal figures tie exactly whatever the order of floating-point sums."""


def validate_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """``weights`` checked: known components only, none negative, not all zero; missing ones weigh 0."""
    unknown = set(weights) - set(COMPONENTS)
    if unknown:
        raise ValueError(Message(N_("未知的评分项 {unknown}：请用 {known}"), unknown=sorted(unknown),
                                 known=", ".join(COMPONENTS)))
    out = {c: float(weights.get(c, 0.0)) for c in COMPONENTS}
    if any(w < 0 for w in out.values()) or not any(out.values()):
        raise ValueError(Message(N_("评分权重须为零或正数，且不能全为零")))
    return out


def components(f: NodeFigures) -> dict[str, float | None]:
    """The node's rate for each component (``None`` when it has nothing to judge)."""
    if f.received:
        escalation: float | None = max(0.0, 1.0 - f.escalated / f.received)
    else:
        escalation = 0.0 if f.escalated else None
    return {"ack": f.ack.rate, "resolve": f.resolve.rate, "escalation": escalation, "tasks": f.tasks.rate,
            "visits": f.visits.rate, "cases": f.cases.rate}


def score(f: NodeFigures, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> float | None:
    """The composite score in [0, 100], or ``None`` when no weighted component has data."""
    w = validate_weights(weights)
    parts = [(w[c], r) for c, r in components(f).items() if r is not None and w[c] > 0]
    total = sum(wc for wc, _ in parts)
    if not total:
        return None
    return round(100.0 * sum(wc * r for wc, r in parts) / total, _DIGITS)


@dataclass(frozen=True)
class Ranked:
    """A node's place (1 first), its score and the figures behind it."""

    rank: int
    score: float | None
    figures: NodeFigures


def rank(figures: Iterable[NodeFigures], weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> list[Ranked]:
    """Nodes by score, highest first; unscored last; ties (and the unscored) ordered by code."""
    scored = [(score(f, weights), f) for f in figures]
    scored.sort(key=lambda sf: (sf[0] is None, -(sf[0] or 0.0), sf[1].code))
    return [Ranked(i, s, f) for i, (s, f) in enumerate(scored, 1)]
