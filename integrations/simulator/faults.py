"""Fault injection for the simulator: what real departmental systems do to a client.

A :class:`Faults` is set per run (``start_simulator(faults=…)``) and can be replaced while it runs
(``sim.faults = Faults(…)``). Decisions come from a seeded RNG, so a test run is repeatable.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Faults:
    """Which faults to inject, per request (rates are probabilities in 0..1)."""

    fail_rate: float = 0.0
    """Answer 500 Internal Server Error."""
    rate_limit_rate: float = 0.0
    """Answer 429 Too Many Requests with ``Retry-After: retry_after_s``."""
    retry_after_s: int = 1
    latency_s: float = 0.0
    """Sleep this long before answering."""
    truncate_rate: float = 0.0
    """Answer 200 with the JSON body cut in half (Content-Length matches the cut body)."""
    duplicate_rate: float = 0.0
    """Repeat an item within its page."""
    out_of_order: bool = False
    """Shuffle the items of each page (the cursor still advances by update sequence)."""
    rename_fields: dict[str, str] = field(default_factory=dict)
    """Schema drift: rename fields of every item, e.g. ``{"occurred_at": "occur_time"}``."""
    slow_rate: float = 0.0
    """Answer this share of requests only after ``slow_s`` more seconds (a client with a shorter timeout
    times out on them)."""
    slow_s: float = 1.0
    down_for_requests: int = 0
    """Answer 503 to the first N API requests (a department that is down, then back)."""
    seed: int = 0


@dataclass
class Decision:
    """What to do with one request."""

    status: int = 200
    retry_after: int | None = None
    truncate: bool = False
    delay_s: float = 0.0


class FaultState:
    """The running state of fault injection: the RNG and how many API requests were seen."""

    def __init__(self, faults: Faults) -> None:
        self.lock = threading.Lock()
        self.set(faults)

    def set(self, faults: Faults) -> None:
        """Replace the faults (and restart their RNG and request count)."""
        with self.lock:
            self.faults = faults
            self.rng = random.Random(faults.seed)
            self.requests = 0

    def decide(self) -> Decision:
        """Draw the fate of the next API request."""
        with self.lock:
            f = self.faults
            self.requests += 1
            if self.requests <= f.down_for_requests:
                return Decision(status=503)
            if f.fail_rate and self.rng.random() < f.fail_rate:
                return Decision(status=500)
            if f.rate_limit_rate and self.rng.random() < f.rate_limit_rate:
                return Decision(status=429, retry_after=f.retry_after_s)
            if f.slow_rate and self.rng.random() < f.slow_rate:
                return Decision(delay_s=f.slow_s)
            return Decision(truncate=bool(f.truncate_rate) and self.rng.random() < f.truncate_rate)

    def shape_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Apply the item-level faults (duplicates, order, renamed fields) to a page."""
        with self.lock:
            f = self.faults
            out: list[dict[str, Any]] = []
            for item in items:
                if f.rename_fields:
                    item = {f.rename_fields.get(k, k): v for k, v in item.items()}
                out.append(item)
                if f.duplicate_rate and self.rng.random() < f.duplicate_rate:
                    out.append(dict(item))
            if f.out_of_order:
                self.rng.shuffle(out)
            return out
