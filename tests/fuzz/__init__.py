"""Fuzzing harnesses, bounded in CI, longer on demand.

Two kinds. Hypothesis properties (``test_fuzz_*.py``): ``uv run pytest tests/fuzz --fuzz-examples 5000``.
libFuzzer harnesses by atheris (``fuzz_*.py``: the C speedups against their Python twins, the rule-file
loader, the file-drop reader, the push intake), which ``test_atheris.py`` runs for a few hundred inputs
each; one at a time for as long as wanted, a scratch corpus first and the shipped seeds after it::

    uv run python tests/fuzz/fuzz_intake.py /tmp/corpus-intake tests/fuzz/seeds/intake -max_total_time=600

(``fuzz_speedups``, ``fuzz_loader``, ``fuzz_filedrop`` likewise; see ``atheris_main.py`` for replaying a
crash.) atheris is installed on Linux x86_64 only; elsewhere ``test_atheris.py`` is skipped with that reason.
"""

from __future__ import annotations

_EXAMPLES = {"n": 20}


def set_examples(n: int) -> None:
    """Set how many cases each harness tries (the ``--fuzz-examples`` option, read at configure time)."""
    _EXAMPLES["n"] = n


def examples() -> int:
    """How many cases each harness tries (20 unless ``--fuzz-examples`` says otherwise)."""
    return _EXAMPLES["n"]
