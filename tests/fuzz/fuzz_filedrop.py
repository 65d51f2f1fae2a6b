"""libFuzzer harness: the file-drop reader, bytes of a dropped CSV or JSON-lines file in, records or
quarantine with a reason out.

The input's first byte picks the format (CSV, JSON lines) and the declared encoding (auto, UTF-8,
GB18030); the rest is the file. It is read page by page by
:class:`integrations.sources.FileDropSource` and each item mapped by
:func:`integrations.sources.mapping.map_item` for the 信访 source, as the ingest does. The reader must
never raise; every page must move the cursor on; a file that cannot be decoded comes back whole with
an error; every refused item has a reason, a code and a payload the store can keep.

    uv run python tests/fuzz/fuzz_filedrop.py /tmp/corpus-filedrop tests/fuzz/seeds/filedrop -max_total_time=600
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import charset_normalizer  # noqa: F401  (third-party: imported uninstrumented)

from tests.fuzz.atheris_main import ROOT, fuzz, instrumented

with instrumented():
    from domain.kinds import RecordKinds
    from domain.records import Record
    from integrations.sources import DEPARTMENTS, FileDropSource, Rejection
    from integrations.sources.mapping import map_item, storable

KINDS = RecordKinds.load(ROOT / "rules" / "kinds.yaml")
NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
FORMATS = [(fmt, enc) for fmt in ("csv", "jsonl") for enc in ("auto", "utf-8", "gb18030")]
FOLDER = Path(tempfile.mkdtemp(prefix="fuzz-filedrop-"))


def test_one_input(data: bytes) -> None:
    """One dropped file: read whole, page by page; every item a record or a reasoned rejection."""
    if not data:
        return
    fmt, encoding = FORMATS[data[0] % len(FORMATS)]
    shutil.rmtree(FOLDER, ignore_errors=True)
    FOLDER.mkdir()
    (FOLDER / f"drop.{fmt}").write_bytes(data[1:])
    source = FileDropSource(DEPARTMENTS[0], FOLDER, file_format=fmt, encoding=encoding)
    cursor, pages = None, 0
    while True:
        page = source.fetch(cursor, limit=50)
        if not page.items:
            assert not page.has_more or page.next_cursor != cursor
            break
        pages += 1
        assert pages < 2_000 and page.next_cursor != cursor, "a page that does not move on"
        if page.error is not None:  # the whole file, undecodable
            assert len(page.items) == 1 and "cannot be decoded" in page.error
        for item in page.items:
            out = map_item(item, DEPARTMENTS[0], KINDS, "fuzz-key", now=NOW)
            if isinstance(out, Rejection):
                assert out.reason and out.code and storable(out.raw) == out.raw, out
            else:
                assert isinstance(out, Record)
        cursor = page.next_cursor


if __name__ == "__main__":
    fuzz(test_one_input)
