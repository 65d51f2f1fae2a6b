"""What every libFuzzer harness in tests/fuzz (``fuzz_*.py``) shares: its command line and its start.

Each harness is a script: ``uv run python tests/fuzz/fuzz_<name>.py [CORPUS_DIR ...] [-runs=N |
-max_total_time=S] [libFuzzer flags]``. libFuzzer writes the inputs it finds new into the first corpus
folder and only reads the others, so pass a scratch folder first and ``tests/fuzz/seeds/<name>`` after
it. A failed check or an unexpected exception is a crash: libFuzzer prints the traceback and writes the
input as ``crash-<sha1>`` (``-artifact_prefix=DIR/`` says where); rerun the harness with that file as
its only argument to reproduce it. ``tests/fuzz/test_atheris.py`` runs every harness briefly in CI.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEEDS = Path(__file__).resolve().parent / "seeds"


def fuzz(test_one_input: Callable[[bytes], None]) -> None:
    """Hand ``test_one_input`` to libFuzzer with this process's arguments; returns only by exiting."""
    import atheris

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


def instrumented() -> AbstractContextManager[object]:
    """A context in which imports of Fenghuo's own packages are instrumented for coverage (third-party
    code is imported before it, uninstrumented: instrumenting FastAPI or SQLAlchemy costs seconds)."""
    import atheris

    hooks: AbstractContextManager[object] = atheris.instrument_imports(include=["domain", "rules", "integrations"])
    return hooks


def setup_path() -> None:
    """Make the repository importable when the script is run by path (``python tests/fuzz/fuzz_x.py``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
