"""libFuzzer harness: the rule-file loader, YAML bytes in, a load result or ``FILE:LINE: message`` lines out.

Each input is written as one rule file beside the shipped catalog's kinds and calendars and loaded with
:func:`rules.language.loader.load_rulebook`. It must return — never raise — and every error it reports
must be one line that starts with the file's name and a line number of at least 1. The seeds
(``tests/fuzz/seeds/loader``) are shipped rule files, so mutations start from real rules (conditions,
windows, sequences, regexes) rather than from noise.

    uv run python tests/fuzz/fuzz_loader.py /tmp/corpus-loader tests/fuzz/seeds/loader -max_total_time=600
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml  # noqa: F401  (imported uninstrumented: its pure-Python parser is not ours to cover)

from tests.fuzz.atheris_main import ROOT, fuzz, instrumented

with instrumented():
    from rules.language.loader import load_rulebook

RULEBOOK = ROOT / "rules" / "catalog"
FOLDER = Path(tempfile.mkdtemp(prefix="fuzz-loader-"))
FILE = FOLDER / "fuzz.yaml"
ERROR = re.compile(r"^(?P<file>[^\n]*fuzz\.yaml|[^\n]+):(?P<line>[1-9]\d*): [^\n]*$")


def test_one_input(data: bytes) -> None:
    """One rule file: loaded, or refused with one-line ``FILE:LINE: message`` errors."""
    FILE.write_bytes(data)
    book = load_rulebook([FILE], rulebook=RULEBOOK)
    for error in book.errors:
        text = str(error)
        assert error.line >= 1 and error.file, repr(error)
        assert ERROR.match(text), f"not one FILE:LINE line: {text!r}"


if __name__ == "__main__":
    fuzz(test_one_input)
