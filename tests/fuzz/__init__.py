"""Fuzzing harnesses: bounded in CI, longer on demand with ``pytest tests/fuzz --fuzz-examples N``."""

from __future__ import annotations

_EXAMPLES = {"n": 20}


def set_examples(n: int) -> None:
    """Set how many cases each harness tries (the ``--fuzz-examples`` option, read at configure time)."""
    _EXAMPLES["n"] = n


def examples() -> int:
    """How many cases each harness tries (20 unless ``--fuzz-examples`` says otherwise)."""
    return _EXAMPLES["n"]
