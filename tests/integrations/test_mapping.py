"""map_item: department item -> Record, or a Rejection with a reason (never an exception)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.kinds import RecordKinds
from domain.privacy import pseudonym
from domain.records import Record
from integrations.sources import DEPARTMENTS, Rejection, map_item

PETITION = next(c for c in DEPARTMENTS if c.kind == "petition")
HOTLINE = next(c for c in DEPARTMENTS if c.kind == "hotline")
NOW = datetime(2026, 2, 10, tzinfo=UTC)
ID_CARD = "51010419900101123X"


def item(**over: Any) -> dict[str, Any]:
    base = {
        "id": "XF-1",
        "occurred_at": "2026-01-05T09:00:00+08:00",
        "region_code": "510104001001001",
        "id_card": ID_CARD,
        "name": "张伟",
        "people": 5,
        "subject": "征地补偿",
        "channel": "visit",
        "status": "received",
        "updated_at": "2026-01-05T09:30:00+08:00",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def test_valid_item_is_mapped_and_pseudonymised(kinds: RecordKinds) -> None:
    out = map_item(item(subject="征地补偿，电话13812345678"), PETITION, kinds, "k", now=NOW)
    assert isinstance(out, Record)
    assert out.source == "xinfang" and out.id == "XF-1" and out.kind == "petition"
    assert out.at == datetime.fromisoformat("2026-01-05T09:00:00+08:00")
    assert out.attributes["person"] == pseudonym(ID_CARD, "k")
    assert out.attributes["people"] == 5 and "name" not in out.attributes
    assert "13812345678" not in out.attributes["subject"]


def test_hotline_maps_phone_and_call_time(kinds: RecordKinds) -> None:
    raw = {
        "ticket_id": "RX-1",
        "call_time": "2026-01-05T22:00:00+08:00",
        "region_code": "510104001001",
        "phone": "13812345678",
        "category": "noise",
        "descriptor": "施工噪音",
        "status": "open",
    }
    out = map_item(raw, HOTLINE, kinds, "k", now=NOW)
    assert isinstance(out, Record) and out.attributes["person"] == pseudonym("13812345678", "k")


@pytest.mark.parametrize(
    ("raw", "code", "reason"),
    [
        (item(id=...), "missing_id", "缺少 id 字段 'id'"),
        (item(occurred_at=...), "missing_field", "缺少字段 'occurred_at'"),
        (item(people=...), "missing_field", "缺少字段 people"),
        (item(people="many"), "invalid_field", "字段无效"),
        (item(people=[3]), "invalid_field", "people 须为整数"),  # was a TypeError out of map_item
        (item(channel="pigeon"), "invalid_field", "channel 须为"),
        (item(region_code="5101"), "invalid_region", "地区代码无效"),
        (item(region_code=None), "invalid_region", "地区代码无效"),
        (item(occurred_at="2026-01-05T09:00:00"), "naive_timestamp", "不带时区的时间"),
        (item(occurred_at="yesterday"), "bad_timestamp", "不是ISO 8601 时间"),
        (item(occurred_at=20260105), "bad_timestamp", "须为ISO 8601 时间"),
        (item(occurred_at="2027-01-05T09:00:00+08:00"), "future_timestamp", "在未来"),
        ('{"id": "XF-1", "occurred_at": "2026-01-0', "unparseable", "无法解析的 JSON"),
        ([1, 2], "not_object", "不是 JSON 对象"),
    ],
)
def test_invalid_items_are_rejections_with_reasons(kinds: RecordKinds, raw: Any, code: str, reason: str) -> None:
    out = map_item(raw, PETITION, kinds, "k", now=NOW)
    assert isinstance(out, Rejection)
    assert reason in out.reason and out.code == code
    assert ID_CARD not in out.raw and "张伟" not in out.raw


def test_cut_page_text_is_stored_without_identifiers(kinds: RecordKinds) -> None:
    text = json.dumps({"items": [item()]}, ensure_ascii=False)[:-30]
    out = map_item(text, PETITION, kinds, "k", now=NOW)
    assert isinstance(out, Rejection) and out.code == "unparseable"
    assert ID_CARD not in out.raw and "张伟" not in out.raw and pseudonym(ID_CARD, "k") in out.raw


def test_unknown_region_when_a_directory_is_given(kinds: RecordKinds) -> None:
    out = map_item(item(), PETITION, kinds, "k", now=NOW, known_regions={"510104001001002"})
    assert isinstance(out, Rejection) and "未知地区代码" in out.reason


def test_quarantined_payload_replays_to_the_same_record(kinds: RecordKinds) -> None:
    bad = map_item(item(region_code="5101"), PETITION, kinds, "k", now=NOW)
    assert isinstance(bad, Rejection) and bad.source_id == "XF-1"
    fixed = json.loads(bad.raw) | {"region_code": "510104001001001"}
    replayed = map_item(fixed, PETITION, kinds, "k", now=NOW)
    original = map_item(item(), PETITION, kinds, "k", now=NOW)
    assert isinstance(replayed, Record) and replayed == original
