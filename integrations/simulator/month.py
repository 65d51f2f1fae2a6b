"""The simulated month: background traffic from :mod:`integrations.simulator.generate` with the situations
of :mod:`integrations.simulator.scenarios` planted in it.

Composed here rather than in either module, because the scenarios are written against the generator.
"""

from __future__ import annotations

from datetime import datetime

from integrations.simulator.generate import DEFAULT_DAYS, DEFAULT_START, Generator
from integrations.simulator.scenarios import plant


def generate(
    *,
    seed: int,
    start: datetime = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    scale: float = 1.0,
    bad_rate: float = 0.0,
    scenarios: bool = True,
) -> Generator:
    """A generator that has produced ``days`` of background traffic (and the planted scenarios)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    gen = Generator(seed=seed, start=start, scale=scale, bad_rate=bad_rate)
    for day in range(days):
        gen.background_day(day)
    if scenarios:
        plant(gen, days=days)
    return gen
