"""CompiledMapping (the ingest's fast path) gives exactly what map_item (the reference) gives.

Generated items, valid and not — missing or renamed fields, wrong types, bad, unknown and looked-up
region codes, naive, future and malformed timestamps, cut JSON text, non-objects — must come out of
both as the same stored row (canonical text and content hash included) or the same Rejection (reason,
code, id, payload made safe).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.kinds import RecordKinds
from integrations.ingest import speedups
from integrations.ingest.fastmap import CompiledMapping
from integrations.settings import PACKAGE_ROOT
from integrations.sources import DEPARTMENTS, Rejection, SourceConfig
from integrations.store.prepared import PreparedRecord

KINDS = RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")
NOW = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
KNOWN = frozenset({"510104001001001", "510104001001", "510104001002001"})
ID_CARD = "51010419900101123X"

LOOKUP = SourceConfig(
    name="lookup-tz",
    kind="dispute",
    path="/x",
    fields={"id_card": "person", "code": "type", "type_text": "type", "n": "people", "amt": "amount", "st": "status",
            "other": "no_such_field"},
    id_field="case",
    at_field="t",
    region_field="board",
    region_fields=("board", "zip"),
    region_lookup={"1|10001": "510104001001", "2|10002": "510104001002001", "3|10003": "not-a-code"},
    timezone="Asia/Shanghai",
    constants={"status": "open"},
    value_maps={"type": {"1": "land", "2": "wage_arrears", "9": "nonsense"}},
    required=("type",),
    free_text=("status",),
)
FORMATTED = SourceConfig(
    name="formatted",
    kind="hotline",
    path="/y",
    fields={"phone": "person", "category": "category", "descriptor": "descriptor"},
    at_field="created",
    at_format="%m/%d/%Y %I:%M:%S %p",
    timezone="America/New_York",
    free_text=("descriptor",),
)
UNKNOWN_KIND = SourceConfig(name="odd", kind="no_such_kind", path="/z", fields={"a": "a"})
CONFIGS = [*DEPARTMENTS, LOOKUP, FORMATTED, UNKNOWN_KIND]

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["", " ", "visit", "land", "open", "1", "2", "9", ID_CARD, "13812345678", "510104001001001"])
)
JSON = st.recursive(_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
                    max_leaves=5)
TIMES = st.sampled_from([
    "2026-01-05T09:00:00+08:00",
    "2026-02-10T12:04:00+00:00",  # within the clock skew
    "2026-02-10T12:06:00+00:00",  # beyond it
    "2027-01-01T00:00:00Z",
    "2026-01-05T09:00:00",  # naive
    "2026-01-05 09:00:00.123456+05:30",
    " 01/05/2026 09:00:00 AM",
    "01/05/2026 11:30:00 PM",
    "13/45/2026 99:00:00 PM",
    "yesterday",
    "0001-01-01T00:00:00+08:00",
    "1989-12-31T23:59:59+00:00",
    "",
]) | JSON
REGIONS = st.sampled_from(["510104001001001", "510104001001", "510104001002001", "510199001001001", "510104",
                           "51010400100100X", ""]) | JSON
HOSTILE_TEXT = st.sampled_from(["a\x00b", "\ud800", "ok\udfff", "x" * 2001, "y" * 20_001, "z" * 201])
"""What the door refuses: NUL, lone surrogates, text over a declared or the default length, long ids."""
HOSTILE_NUMBERS = st.sampled_from([-5, 100_001, 10**30, 2**53 + 1, 1e308, -1e16, 1.5, 2.0, 10**400])
IDS = st.sampled_from(["XF-1", "XF-2", "", "0"]) | st.integers(min_value=-5, max_value=10**20) | HOSTILE_TEXT | JSON


def _typical(config: SourceConfig, src: str, dst: str) -> st.SearchStrategy[Any]:
    """Values a department would send for ``src``: mostly valid for the field, sometimes anything."""
    spec = KINDS.kinds[config.kind].fields.get(dst) if config.kind in KINDS.kinds else None
    if src in ("id_card", "phone"):
        ids = [ID_CARD, "510104 19900101 123x", "13812345678", "p_" + "a" * 20]
        valid: st.SearchStrategy[Any] = st.sampled_from(ids)
    elif spec is None:
        valid = st.text(max_size=8)
    elif spec.values is not None:
        valid = st.sampled_from([*spec.values, "1", "2", "9"])
    elif spec.type == "int":
        valid = st.integers(min_value=0, max_value=1000) | st.sampled_from([2.0, 2.5, "7", True])
    elif spec.type == "number":
        valid = st.floats(min_value=-1e6, max_value=1e6) | st.integers(min_value=0, max_value=10**6) | st.just("3.5")
    else:
        texts = ["反映 13812345678 问题", "身份证 51010419900101123X", "征地补偿"]
        valid = st.text(max_size=20) | st.sampled_from(texts)
    return st.one_of(valid, valid, valid, JSON, HOSTILE_TEXT, HOSTILE_NUMBERS)


@st.composite
def items(draw: st.DrawFn, config: SourceConfig) -> Any:
    shape = draw(st.sampled_from(["object"] * 8 + ["text", "other"]))
    if shape == "other":
        return draw(JSON)
    keys: dict[str, st.SearchStrategy[Any]] = {
        config.id_field: IDS,
        config.at_field: TIMES,
        config.region_field: REGIONS,
        "zip": st.sampled_from(["10001", "10002", "10003", "99999", ""]) | JSON,
        "name": st.sampled_from(["张伟", ""]),
        "extra": JSON,
    }
    if config.region_lookup is not None:
        keys[config.region_field] = st.sampled_from(["1", "2", "3", " 1 ", ""]) | JSON
    for src, dst in config.fields.items():
        keys[src] = _typical(config, src, dst)
    raw = {k: draw(v) for k, v in keys.items() if draw(st.integers(0, 9)) > 0}  # a field missing one time in ten
    if shape == "text":
        import json

        text = json.dumps(raw, ensure_ascii=False, default=str)
        return text[: draw(st.integers(0, len(text)))]  # whole, or cut anywhere
    return raw


def _view(out: PreparedRecord | Rejection) -> Any:
    if isinstance(out, Rejection):
        return out
    # The same instant and offset; the rest compared as stored (the canonical text holds the attributes).
    return (*out._replace(at=None, attributes={}), out.at.timestamp(), out.at.utcoffset(), repr(out.attributes))


@contextmanager
def python_only() -> Iterator[None]:
    """As if the C twins (integrations.ingest.speedups) were not built: every value computed by the Python code."""
    with mock.patch.multiple(speedups, canonical_and_hash=None, times_of=None, Pseudonymiser=None,
                             text_refused=None):
        yield


def reference(mapping: CompiledMapping, raw: Any, now: datetime) -> PreparedRecord | Rejection:
    """The reference mapping, all in Python: the C code of the fast path is checked against it too."""
    with python_only():
        return mapping.reference(raw, now)


def _compile(c: SourceConfig, known: bool, impl: str) -> CompiledMapping:
    if impl == "python":
        with python_only():
            return CompiledMapping(c, KINDS, "k", known_regions=KNOWN if known else None)
    return CompiledMapping(c, KINDS, "k", known_regions=KNOWN if known else None)


IMPLS = ["c", "python"]  # "c" is the Python code too where the extension is not built
MAPPINGS = {
    (c.name, known, impl): _compile(c, known, impl) for c in CONFIGS for known in (False, True) for impl in IMPLS
}  # shared across examples, so the pseudonym, mask and region caches are exercised too


@pytest.mark.parametrize("config", CONFIGS, ids=[c.name for c in CONFIGS])
@pytest.mark.parametrize("known", [False, True], ids=["any-region", "known-regions"])
@pytest.mark.parametrize("impl", IMPLS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fast_mapping_equals_reference(config: SourceConfig, known: bool, impl: str, data: st.DataObject) -> None:
    mapping = MAPPINGS[(config.name, known, impl)]
    raw = data.draw(items(config))
    now = NOW + timedelta(seconds=data.draw(st.integers(-10, 10)))
    assert _view(mapping.map_one(raw, now)) == _view(reference(mapping, raw, now))


@st.composite
def framed_items(draw: st.DrawFn, config: SourceConfig) -> dict[str, Any]:
    """An item whose id, time and region are valid, so that only its mapped fields decide: the field block
    of the compiled mapping (fastmap_fields) is what this exercises."""
    times = ["2026-01-05T09:00:00+08:00", "2026-02-01T00:00:00Z"]
    raw: dict[str, Any] = {config.id_field: draw(st.sampled_from(["A-1", "B-2"])),
                           config.at_field: draw(st.sampled_from(times))}
    if config.at_format:
        raw[config.at_field] = "01/05/2026 09:00:00 AM"
    if config.region_lookup is not None:
        raw.update({config.region_field: "1", "zip": "10001"})
    else:
        raw[config.region_field] = "510104001001001"
    for src, dst in config.fields.items():
        if draw(st.integers(0, 4)) > 0:  # present four times in five
            raw[src] = draw(_typical(config, src, dst))
    return raw


@pytest.mark.parametrize("config", CONFIGS[:-1], ids=[c.name for c in CONFIGS[:-1]])
@pytest.mark.parametrize("impl", IMPLS)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fast_mapping_equals_reference_on_valid_frames(config: SourceConfig, impl: str, data: st.DataObject) -> None:
    mapping = MAPPINGS[(config.name, False, impl)]
    raw = data.draw(framed_items(config))
    assert _view(mapping.map_one(raw, NOW)) == _view(reference(mapping, raw, NOW))


def test_page_keeps_order_and_splits_records_from_rejections() -> None:
    petition = next(c for c in DEPARTMENTS if c.kind == "petition")
    mapping = CompiledMapping(petition, KINDS, "k")
    good = {"id": "A", "occurred_at": "2026-01-05T09:00:00+08:00", "region_code": "510104001001001",
            "id_card": ID_CARD, "people": 2, "subject": "电话13812345678"}
    bad = {**good, "id": "B", "region_code": "5101"}
    records, rejections = mapping.map_page([good, bad, {**good, "id": "C"}, "{cut"], NOW)
    assert [r.id for r in records] == ["A", "C"]
    assert [(r.source_id, r.code) for r in rejections] == [("B", "invalid_region"), (None, "unparseable")]
    assert records[0].attributes["person"].startswith("p_") and "13812345678" not in records[0].attrs_json
    assert records[0] == mapping.reference(good, NOW)


def test_valid_items_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Proof that the speed comes from the compiled path: a valid item never reaches the reference.
    petition = next(c for c in DEPARTMENTS if c.kind == "petition")
    mapping = CompiledMapping(petition, KINDS, "k")
    monkeypatch.setattr(mapping, "reference", lambda raw, now: pytest.fail("reference used"))
    good = {"id": "A", "occurred_at": "2026-01-05T09:00:00+08:00", "region_code": "510104001001001",
            "id_card": ID_CARD, "people": 2, "channel": "visit"}
    records, rejections = mapping.map_page([good], NOW)
    assert len(records) == 1 and not rejections


def test_valid_items_use_the_c_twins(monkeypatch: pytest.MonkeyPatch) -> None:
    # The speed of the C code is only there if the compiled mapping calls it: count the calls.
    calls: list[str] = []

    def counting(name: str, real: Any) -> Any:
        def f(*args: Any) -> Any:
            calls.append(name)
            return real(*args) if real is not None else None

        return f

    monkeypatch.setattr(speedups, "times_of", counting("times", speedups.times_of))
    monkeypatch.setattr(speedups, "canonical_and_hash", counting("hash", speedups.canonical_and_hash))
    monkeypatch.setattr(speedups, "text_refused", counting("text", speedups.text_refused))
    petition = next(c for c in DEPARTMENTS if c.kind == "petition")
    mapping = CompiledMapping(petition, KINDS, "k")
    good = {"id": "A", "occurred_at": "2026-01-05T09:00:00+08:00", "region_code": "510104001001001",
            "id_card": ID_CARD, "people": 2, "channel": "visit"}
    records, _ = mapping.map_page([good, {**good, "id": "B"}], NOW)
    assert [c for c in calls if c != "text"] == ["times", "hash"] * 2
    assert calls.count("text") == 3 * 2  # each record's id and its two texts (id_card, channel)
    assert records == [reference(mapping, item, NOW) for item in (good, {**good, "id": "B"})]
