"""Cyclic garbage collection paused around bulk evaluation.

Reading a day of records and running it through the engine makes some 100,000 objects and almost no
reference cycles, but CPython starts a collection every 700 new container objects, and the older
generations' collections walk every live window slot, partial match and open warning. In a backtest
from the store that walk was 40% of the CPU (the same reason as in
:meth:`rules.engine.evaluate.Evaluator.feed`, which pauses it around one batch).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside; the previous state is restored after (nesting is free)."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
