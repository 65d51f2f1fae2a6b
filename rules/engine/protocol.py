"""What the rule engines promise and what they need: :class:`RuleEngine`, :class:`RulebookLike`, :data:`Emit`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from domain.records import Record
from domain.warnings import Firing, Level
from rules.engine.budget import EvaluationError
from rules.language.model import Rule

__all__ = ["Absorb", "Emit", "RuleEngine", "RulebookLike", "Values"]

Emit = Callable[[Record, list[Firing]], Sequence[Record]]


class _Calendars(Protocol):
    def periods_at(self, at: datetime) -> tuple[str, ...]: ...


class RulebookLike(Protocol):
    """What the engines need of a rulebook (:class:`rules.language.loader.Rulebook` has it)."""

    @property
    def rules(self) -> Sequence[Rule]: ...
    @property
    def version(self) -> str: ...
    @property
    def calendars(self) -> _Calendars | None: ...


Values = dict[str, Any] | Callable[[], dict[str, Any]]
"""A firing's values (``count``, ``expected``…), or what makes them when first read: a quiet firing's values
are kept only as its warning's latest, and most are replaced by the next firing's before anyone reads
them (a baseline's values round every sample: the costliest part of a firing that folds away)."""

Absorb = Callable[[str, Level, datetime, str, Values, str], bool]
"""``absorb(fingerprint, level, at, ref, values, version)``: fold a one-record firing into its open
warning in place when it does not raise it, and say so (an :class:`~rules.engine.evaluate.Evaluator`'s,
when it keeps no updates); ``False``: the firing must be made and emitted."""


class RuleEngine(Protocol):
    """Evaluates a rulebook over records in event time."""

    watched: frozenset[str]
    """Record kinds some rule watches (``warning`` among them when rules chain)."""
    errors: list[EvaluationError]
    """Records left out since the engine was made or this list emptied (the caller's to empty): each
    with the rule and the reason (:mod:`rules.engine.budget`). Their rules never saw them."""

    quiet: Callable[[str, Level], bool] | None
    """Whether a firing (fingerprint, level) will fold into an open warning without its own words, so
    they need not be built (:func:`rules.engine.explain.firing`); None: always build them."""
    absorb: Absorb | None
    """None, or an :data:`Absorb` that folds a quiet window firing into its warning in
    place: then no firing is made or emitted for it."""

    def process(self, records: Sequence[Record], emit: Emit, times: Sequence[float] | None = None) -> None:
        """Evaluate ``records`` (sorted by ``(at, source, id)``), calling ``emit`` per record that fired.
        ``times`` are the records' ``at`` as epoch seconds, when the caller has them already."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """The event-time state as plain JSON."""
        ...

    def load(self, data: Mapping[str, Any]) -> None:
        """Continue from a :meth:`snapshot` of an engine of the same rulebook."""
        ...

    def close(self) -> None:
        """Free the engine's resources."""
        ...
