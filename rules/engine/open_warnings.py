"""The open warnings of one run and how firings fold into them, quiet ones cheaply.

A window over its threshold fires on every record of its key, and almost every such firing folds into
the open warning of its fingerprint without raising it: :func:`domain.warnings.fold` then drops its
explanation and summary. :class:`OpenWarnings` answers the engine's two questions about such a firing
before it is built — :meth:`OpenWarnings.quiet` (build it without its words) and, for a caller that
reads only the warnings at the end, :meth:`OpenWarnings.absorb` (fold it in place, build nothing) —
and folds the firings that are made (:meth:`OpenWarnings.fold`). The evaluator
(:mod:`rules.engine.evaluate`) and a shard of a sharded backtest (:mod:`rules.run.shard_run`) both keep
their warnings here, so the two fold alike by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace as copy
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.warnings import Change, Firing, Level, RefRing, Status, WarningState, fold, fold_in_place

if TYPE_CHECKING:
    from rules.engine.protocol import Values

__all__ = ["OpenWarnings"]


class OpenWarnings:
    """Warnings by fingerprint, with the values of each one's latest firing.

    ``in_place=True``: the states are this holder's own until :meth:`settle` — a firing that does not
    raise its warning is folded into the state itself (:meth:`absorb`), and refs collect in a
    :class:`~domain.warnings.RefRing` until :meth:`settle` writes them back. Callers then read the
    states only after :meth:`settle`."""

    def __init__(self, *, in_place: bool = False) -> None:
        """See the class docstring for ``in_place``."""
        self.states: dict[str, WarningState] = {}
        """Every warning folded so far, resolved ones included until dropped, by fingerprint."""
        self._values: dict[str, Values] = {}
        """:attr:`last_values`, some still deferred (made when read)."""
        self.in_place = in_place
        self._rings: dict[str, RefRing] = {}

    @property
    def last_values(self) -> dict[str, dict[str, Any]]:
        """Per warning, the values of its latest firing (``count``, ``people``…)."""
        held = self._values
        for fp, v in held.items():
            if callable(v):
                held[fp] = v()
        return held  # type: ignore[return-value]  # every one made just now

    @last_values.setter
    def last_values(self, values: dict[str, dict[str, Any]]) -> None:
        self._values = dict(values)

    def quiet(self, fingerprint: str, level: Level) -> bool:
        """Whether a firing at ``level`` folds into the warning ``fingerprint`` without raising it (its
        explanation and summary would be dropped by :func:`domain.warnings.fold`)."""
        current = self.states.get(fingerprint)
        return current is not None and current.status is not Status.resolved and level.rank <= current.level.rank

    def absorb(self, fingerprint: str, level: Level, at: datetime, ref: str, values: Values,
               version: str) -> bool:
        """:data:`rules.engine.protocol.Absorb`: what :meth:`fold` would do with a quiet firing of the one
        record ``ref``, done in place; ``False`` (nothing done) when the firing would open or raise a
        warning, or when the states are not this holder's own (``in_place=False``). Deferred ``values``
        are kept deferred: made only if still the latest when :attr:`last_values` is read."""
        if not self.in_place:
            return False
        current = self.states.get(fingerprint)
        if current is None or current.status is Status.resolved or level.rank > current.level.rank:
            return False
        ring = self._rings.get(fingerprint)
        if ring is None and RefRing.fits(current.records):
            ring = self._rings[fingerprint] = RefRing(current.records)
        fold_in_place(current, at, ref, version, ring)
        self._values[fingerprint] = values
        return True

    def fold(self, f: Firing) -> tuple[WarningState, Change]:
        """Fold the firing ``f`` into its warning (:func:`domain.warnings.fold`); the new state and what
        changed."""
        fp = f.fingerprint
        if self._rings and (ring := self._rings.pop(fp, None)) is not None:
            ring.write(self.states[fp])  # its refs as they are, for the fold to read
        state, change = fold(self.states.get(fp), f)
        self.states[fp] = state
        self._values[fp] = f.values
        return state, change

    def settle(self) -> None:
        """Write the refs folded in place back into their states: every state whole again."""
        for fp, ring in self._rings.items():
            ring.write(self.states[fp])
        self._rings.clear()

    def in_order(self) -> list[WarningState]:
        """The warnings held, oldest first."""
        return sorted(self.states.values(), key=lambda w: (w.first_at, w.fingerprint))

    def drop(self, fingerprint: str) -> bool:
        """Forget the warning ``fingerprint``: its next firing opens a new one. False if none is held."""
        self._values.pop(fingerprint, None)
        self._rings.pop(fingerprint, None)
        return self.states.pop(fingerprint, None) is not None

    def replace(self, warnings: Iterable[WarningState]) -> None:
        """Hold ``warnings`` (the open ones among them) instead, copied when folding in place: the
        caller's states stay as they were."""
        self.settle()
        self.states = {w.fingerprint: copy(w) if self.in_place else w
                       for w in warnings if w.status is not Status.resolved}
        self._values = {fp: v for fp, v in self._values.items() if fp in self.states}
