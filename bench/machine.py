"""How fast this machine is right now, so figures from different days can be compared.

Shared virtual machines differ from day to day (the same code measured 105k and 43k records/s on two
days here). Every benchmark prints this line beside its figures: the CPU seconds one core takes for a
fixed pure-Python loop, and the load average. Ratios within one run are the comparable figures; this
line says how to read the absolute ones.
"""

from __future__ import annotations

import os
import time

__all__ = ["machine_line"]


def _loop_seconds(n: int = 2_000_000) -> float:
    t0 = time.process_time()
    s = 0
    for i in range(n):
        s += i
    return time.process_time() - t0


def machine_line() -> str:
    """One line: the best of three runs of a 2M-iteration Python loop (CPU s), CPUs and load average."""
    best = min(_loop_seconds() for _ in range(3))
    load = os.getloadavg()[0]
    return (f"machine: 2M-iteration Python loop {best:.2f} s CPU (lower is faster), {os.cpu_count()} CPUs, "
            f"load average {load:.1f}")
