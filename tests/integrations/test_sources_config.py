"""sources.yaml: the packaged file, FILE:LINE errors, and the declarative mapping features."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.kinds import RecordKinds
from domain.records import Record
from integrations.settings import Settings
from integrations.sources import DEPARTMENTS
from integrations.sources.config import DEFAULT_SOURCES_FILE, SourcesFileError, load_sources
from integrations.sources.mapping import Rejection, map_item

NOW = datetime(2026, 1, 10, tzinfo=UTC)
NAMES = ["xinfang", "mediation", "hotline12345", "public-safety", "opinion-monitor", "civil-affairs-due",
         "civil-affairs-visit"]


def write(tmp_path: Path, text: str, name: str = "sources.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path, kinds: RecordKinds | None = None) -> list[str]:
    with pytest.raises(SourcesFileError) as info:
        load_sources(path, settings=Settings(), kinds=kinds)
    return [str(e) for e in info.value.errors]


def test_packaged_file_names_the_simulator_departments(kinds: RecordKinds) -> None:
    loaded = load_sources(DEFAULT_SOURCES_FILE, settings=Settings(simulator_url="http://sim:1"), kinds=kinds)
    # The register (台账) is a source of ours, read from the store: not one of the simulator's departments.
    assert loaded.names == [*NAMES, "register"] and [c.name for c in DEPARTMENTS] == NAMES
    assert loaded.get("register").transport == "register"
    hotline = loaded.get("hotline12345")
    assert (hotline.base_url, hotline.config.path, hotline.config.at_field) == ("http://sim:1", "/api/hotline",
                                                                                  "call_time")
    assert hotline.transport == "rest" and hotline.pagination.style == "cursor" and hotline.auth.type == "none"


def test_errors_carry_file_and_line(tmp_path: Path, kinds: RecordKinds) -> None:
    path = write(tmp_path, """\
sources:
  - name: a
    kind: hotline
    path: /a
    fields: {x: category}
    colour: red
  - name: b
    kind: hotline
    path: /b
    auth: {type: bearer}
    fields: {x: category}
  - name: c
    kind: hotline
    fields: {x: category}
""")
    errs = errors_of(path)
    assert f"{path}:6: sources.0.colour：未知的键 'colour'" in errs
    assert any(e.startswith(f"{path}:10: ") and "须有且只有 'secret'" in e for e in errs)
    assert any(e.startswith(f"{path}:12: ") and "数据源须有 'path'（REST）、'filedrop'、'register' 或 'push_token'" in e
               for e in errs)


def test_a_pushed_only_source_is_never_pulled(tmp_path: Path, kinds: RecordKinds) -> None:
    from integrations.ingest.run import build_sources

    path = write(tmp_path, """\
sources:
  - name: pushed
    kind: hotline
    push_token: pushed-token
    fields: {x: category}
  - name: pulled
    kind: hotline
    path: /p
    push_token: pulled-token
    fields: {x: category}
""")
    loaded = load_sources(path, kinds=kinds)
    assert [(s.name, s.transport, s.push_token) for s in loaded.specs] == [
        ("pushed", "push", "pushed-token"), ("pulled", "rest", "pulled-token")]
    assert [s.config.name for s in build_sources(Settings(sources_file=path))] == ["pulled"]


def test_semantic_errors_duplicate_placeholder_and_kind_fields(tmp_path: Path, kinds: RecordKinds) -> None:
    path = write(tmp_path, """\
sources:
  - name: a
    kind: hotline
    path: /a
    base_url: ${nowhere}
    fields: {x: category, y: colour}
  - name: a
    kind: hotlines
    path: /b
    fields: {x: category}
""")
    errs = errors_of(path, kinds)
    assert any(e.startswith(f"{path}:2: ") and "未知的占位符 ${nowhere}" in e for e in errs)
    assert any(e.startswith(f"{path}:2: ") and "没有字段 colour" in e for e in errs)
    assert any(e.startswith(f"{path}:7: ") and "数据源名称 'a' 重复（首次出现在第 2 行）" in e for e in errs)
    assert any(e.startswith(f"{path}:7: ") and "未知的记录类型 'hotlines'" in e for e in errs)


def test_malformed_yaml_and_bad_zone_have_lines(tmp_path: Path) -> None:
    assert errors_of(write(tmp_path, "sources:\n  - name: a\n   kind: [\n"))[0].startswith(f"{tmp_path}/sources.yaml:")
    path = write(tmp_path, "sources:\n  - name: a\n    kind: hotline\n    path: /a\n    fields: {}\n"
                           "    at: {field: t, timezone: Mars/Olympus}\n", "zone.yaml")
    [err] = errors_of(path)
    assert err.startswith(f"{path}:6: ") and "未知的时区 'Mars/Olympus'" in err


DECLARATIVE = """\
sources:
  - name: city-hotline
    kind: hotline
    path: /tickets
    id: ticket_no
    at: {field: when, format: "%Y-%m-%d %H:%M", timezone: Asia/Shanghai}
    region: {fields: [district, street], lookup: {"JJ|CX": "510104001001"}}
    fields: {caller_phone: person, cat: category, text: descriptor}
    constants: {status: open}
    value_maps: {category: {"01": noise, "02": parking}}
    required: [category]
    free_text: [descriptor]
    personal: [caller_phone]
"""


def test_declarative_mapping_renames_maps_zones_and_looks_up_regions(tmp_path: Path, kinds: RecordKinds) -> None:
    cfg = load_sources(write(tmp_path, DECLARATIVE), settings=Settings(), kinds=kinds).get("city-hotline").config
    item = {"ticket_no": 7, "when": "2026-01-05 09:30", "district": "JJ", "street": "CX", "cat": "01",
            "caller_phone": "13812345678", "text": "call 13812345678", "extra": "dropped"}
    rec = map_item(item, cfg, kinds, "k", now=NOW)
    assert isinstance(rec, Record)
    assert rec.at == datetime(2026, 1, 5, 1, 30, tzinfo=UTC) and rec.region == "510104001001"
    assert rec.attributes["category"] == "noise" and rec.attributes["status"] == "open"
    assert rec.attributes["person"].startswith("p_") and "13812345678" not in str(rec.attributes)
    unmapped = map_item({**item, "cat": "99"}, cfg, kinds, "k", now=NOW)
    assert isinstance(unmapped, Record) and unmapped.attributes["category"] == "99"
    lost = map_item({**item, "street": ""}, cfg, kinds, "k", now=NOW)
    assert isinstance(lost, Rejection) and lost.code == "missing_region" and "'street'" in lost.reason
    unknown = map_item({**item, "street": "ZZ"}, cfg, kinds, "k", now=NOW)
    assert isinstance(unknown, Rejection) and unknown.code == "unknown_region"
    garbled = map_item({**item, "when": "05/01/2026"}, cfg, kinds, "k", now=NOW)
    assert isinstance(garbled, Rejection) and garbled.code == "bad_timestamp" and "%Y-%m-%d %H:%M" in garbled.reason
    assert "13812345678" not in garbled.raw


def test_quarantined_payload_keeps_region_codes_that_look_like_phone_numbers(kinds: RecordKinds) -> None:
    from integrations.sources.mapping import safe_raw

    hotline = next(c for c in DEPARTMENTS if c.kind == "hotline")
    # 510116… contains "16" + 9 digits: masking it as a phone number would make the item unreplayable.
    raw = {"ticket_id": "T1", "region_code": "510116001001002", "phone": "13812345678", "note": "13912345678"}
    safe = safe_raw(raw, hotline, "k")
    assert "510116001001002" in safe and "13812345678" not in safe and "139******78" in safe
