"""Fuzzing the rule-file loader: arbitrary bytes must give FILE:LINE errors, never an exception.

Bounded for CI (20 examples); longer on demand: ``uv run pytest tests/fuzz --fuzz-examples 5000``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rules.language.loader import load_rulebook
from tests.fuzz import examples

REPO = Path(__file__).resolve().parents[2]
RULEBOOK = REPO / "rules" / "catalog"
EXAMPLES = examples()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(b"1")  # found by this harness: a scalar file crashed _is_calendars
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_give_file_line_errors(data: bytes) -> None:
    """Any file content loads or yields errors naming the file and a line >= 1."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_bytes(data)
        book = load_rulebook([path], rulebook=RULEBOOK)
        for error in book.errors:
            assert error.line >= 1
            assert error.file
