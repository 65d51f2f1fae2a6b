"""Fuzzing what departments send: arbitrary bytes as a dropped CSV or JSON-lines file, arbitrary JSON as
an item, arbitrary text through the masking. Each must end in records or quarantine with a reason (or
masked text), never an exception. Bounded for CI; ``--fuzz-examples N`` for longer runs."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.kinds import RecordKinds
from domain.privacy import mask
from integrations.settings import PACKAGE_ROOT
from integrations.sources import DEPARTMENTS, FileDropSource, Rejection
from integrations.sources.mapping import map_item, storable
from tests.fuzz import examples

KINDS = RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")
FUZZ = settings(max_examples=examples(), deadline=None, suppress_health_check=[HealthCheck.too_slow])
_text = st.text(max_size=200) | st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0xDFFF), max_size=50)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | _text,
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(_text, c, max_size=5), max_leaves=12)


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from(["csv", "jsonl"]), st.sampled_from(["auto", "utf-8", "gb18030"]))
def test_any_dropped_file_is_read_or_quarantined_whole(data: bytes, fmt: str, encoding: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / f"drop.{fmt}").write_bytes(data)
        src = FileDropSource(DEPARTMENTS[0], Path(folder), file_format=fmt, encoding=encoding)
        cursor, pages = None, 0
        while True:
            page = src.fetch(cursor, limit=50)
            if not page.items:
                break
            pages += 1
            assert pages < 200 and page.next_cursor != cursor  # every page moves on
            for item in page.items:
                out = map_item(item, DEPARTMENTS[0], KINDS, "k")
                if isinstance(out, Rejection):
                    assert storable(out.raw) == out.raw and out.reason
            cursor = page.next_cursor


@FUZZ
@given(st.dictionaries(st.sampled_from(["id", "occurred_at", "region_code", "id_card", "people", "subject",
                                        "channel", "status"]), JSON) | JSON)
def test_any_item_maps_or_is_refused_with_a_storable_payload(raw: Any) -> None:
    out = map_item(raw, DEPARTMENTS[0], KINDS, "k")
    if isinstance(out, Rejection):
        assert out.reason and out.code and storable(out.raw) == out.raw


@FUZZ
@given(_text)
def test_masking_any_text_never_fails_and_keeps_its_length(text: str) -> None:
    assert len(mask(text)) == len(text)
