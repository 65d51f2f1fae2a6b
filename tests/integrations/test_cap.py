"""CAP 1.2: rendered alerts validate against the OASIS schema; the parser reads real alerts; the feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from domain.regions import RegionDirectory
from domain.warnings import LEVELS, Level
from integrations.cap import (
    CapError,
    CapWarning,
    cap_messages,
    parse_cap,
    render_cap,
    render_chain,
)
from integrations.cap_feed import render_atom_feed
from integrations.cap_xml import ATOM_NS, CAP_NS, validate_against
from integrations.settings import Settings
from integrations.store.models import AuditRow, WarningRow

SHARED_CAP = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cap"
XSD = SHARED_CAP / "CAP-v1.2.xsd"
EXAMPLES = SHARED_CAP / "examples"
needs_shared = pytest.mark.skipif(
    not XSD.exists(), reason=f"CAP schema and examples not found at {SHARED_CAP.resolve()}"
)

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _warning(level: Level = Level.yellow, status: str = "open", **kw: object) -> CapWarning:
    data: dict[str, object] = dict(
        id=42, fingerprint="0123456789abcdef01234567", rule="petition_repeat_visits",
        title="同一人员多次信访", level=level, status=status, region="510104001002",
        region_path="成都市 / 锦江区 / 春熙路街道 / 红星社区", first_at=T0, last_at=T0 + timedelta(hours=1),
        opened_at=T0 + timedelta(minutes=5), summary="张某（电话 13812345678）30 天内 4 次来访",
        explanation="身份证 51010419900101123X 的人员 30 天内来访 4 次，超过阈值 3 次。",
        resolved_at=T0 + timedelta(days=1) if status == "resolved" else None,
        resolve_due_at=T0 + timedelta(days=7),
    )
    data.update(kw)
    return CapWarning(**data)  # type: ignore[arg-type]


def _audit(action: str, minutes: int, **detail: str) -> AuditRow:
    return AuditRow(id=minutes, warning_id=42, at=T0 + timedelta(minutes=minutes), actor="system",
                    action=action, detail=detail)


HISTORY = [_audit("opened", 5, level="blue"), _audit("raised", 60, **{"from": "blue", "to": "yellow"}),
           _audit("raised", 90, **{"from": "yellow", "to": "red"}), _audit("resolved", 600)]


@needs_shared
@pytest.mark.parametrize("level", LEVELS, ids=lambda lv: lv.value)
def test_every_message_of_every_level_validates(level: Level) -> None:
    for status in ("open", "acknowledged", "resolved"):
        for xml in render_chain(_warning(level, status)):
            assert validate_against(xml.encode("utf-8"), XSD) == []


@needs_shared
def test_chain_alert_update_cancel_validates_and_references_earlier_messages() -> None:
    warning = _warning(Level.red, "resolved")
    docs = render_chain(warning, HISTORY)
    assert [parse_cap(d).msg_type for d in docs] == ["Alert", "Update", "Update", "Cancel"]
    for doc in docs:
        assert validate_against(doc, XSD) == []
    parsed = [parse_cap(d) for d in docs]
    assert [p.infos[0].severity for p in parsed] == ["Minor", "Moderate", "Extreme", "Extreme"]
    assert parsed[0].references == ()
    # Each later message references every earlier one as sender,identifier,sent.
    for i, p in enumerate(parsed[1:], start=1):
        assert [r.split(",")[1] for r in p.references] == [q.identifier for q in parsed[:i]]
    assert len({p.identifier for p in parsed}) == 4
    # Stable: rendering again gives the same identifiers.
    assert [parse_cap(d).identifier for d in render_chain(warning, HISTORY)] == [p.identifier for p in parsed]


def test_alert_fields_scope_area_masking_and_offset() -> None:
    alert = parse_cap(render_cap(_warning(Level.orange)))
    assert (alert.status, alert.msg_type, alert.scope) == ("Actual", "Alert", "Restricted")
    assert alert.restriction
    assert alert.sent.utcoffset() == timedelta(hours=8)  # Asia/Shanghai by default
    info = alert.infos[0]
    assert (info.language, info.categories, info.severity) == ("zh-CN", ("Security",), "Severe")
    assert info.event == "同一人员多次信访" and "橙色" in info.headline
    assert ("GB/T 2260", "510104") in info.areas[0].geocodes
    assert ("CN-STATS-DIVISION", "510104001002") in info.areas[0].geocodes
    assert info.areas[0].desc.startswith("成都市")
    raw = render_cap(_warning(Level.orange))
    assert "51010419900101123X" not in raw and "13812345678" not in raw
    assert "510*************3X" in info.description


def test_exercise_status_from_settings_and_safety_category() -> None:
    settings = Settings(cap_exercise=True, cap_sender="fenghuo@chengdu.example.gov.cn")
    alert = parse_cap(render_cap(_warning(kind="incident"), settings=settings))
    assert alert.status == "Exercise" and alert.sender == "fenghuo@chengdu.example.gov.cn"
    assert alert.infos[0].categories == ("Safety",)
    by_rule = parse_cap(render_cap(_warning(rule="public-incident-injuries")))
    assert by_rule.infos[0].categories == ("Safety",)


def test_from_row_uses_region_names() -> None:
    row = WarningRow(id=3, fingerprint="f" * 24, open_key="f" * 24, rule="r", title="t", level="blue",
                     region="510104001002", first_at=T0, last_at=T0, opened_at=T0)
    regions = RegionDirectory.from_mapping({"510100000000": "成都市", "510104000000": "锦江区"})
    view = CapWarning.from_row(row, regions=regions)
    assert view.region_path.startswith("成都市 / 锦江区")
    assert cap_messages(view)[0].msg_type == "Alert"


def test_atom_feed_lists_only_unresolved_and_embeds_cap() -> None:
    warnings = [
        _warning(Level.red, "open", id=1), _warning(Level.blue, "acknowledged", id=2),
        _warning(Level.orange, "resolved", id=3),
    ]
    xml = render_atom_feed(warnings, T0 + timedelta(hours=2), audits={1: HISTORY[:3]})
    root = etree.fromstring(xml.encode("utf-8"))
    entries = root.findall(f"{{{ATOM_NS}}}entry")
    assert len(entries) == 2
    embedded = [e.find(f"{{{ATOM_NS}}}content/{{{CAP_NS}}}alert") for e in entries]
    ids = [a.findtext(f"{{{CAP_NS}}}info/{{{CAP_NS}}}parameter/{{{CAP_NS}}}value") for a in embedded]
    assert ids == ["1", "2"]  # red first; the resolved one is gone
    assert embedded[0].findtext(f"{{{CAP_NS}}}msgType") == "Update"  # its chain's latest message
    links = [e.find(f"{{{ATOM_NS}}}link").get("href") for e in entries]
    assert all(href.endswith(".xml") for href in links)
    if XSD.exists():
        for alert in embedded:
            assert validate_against(etree.tostring(alert), XSD) == []


@needs_shared
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.xml")) if EXAMPLES.exists() else [],
                         ids=lambda p: p.stem)
def test_parser_reads_real_examples(path: Path) -> None:
    alert = parse_cap(path.read_bytes())
    assert alert.identifier and alert.sender and alert.sent.tzinfo is not None
    assert alert.msg_type in {"Alert", "Update", "Cancel", "Ack", "Error"}
    assert alert.status in {"Actual", "Exercise", "System", "Test", "Draft"}
    for info in alert.infos:
        assert info.event and info.severity and info.urgency and info.certainty
    if path.name.startswith("INVALID"):
        assert validate_against(path.read_bytes(), XSD) != []  # readable, yet not schema-valid
    else:
        assert validate_against(path.read_bytes(), XSD) == []


@needs_shared
def test_parser_details_of_known_examples() -> None:
    cancel = parse_cap((EXAMPLES / "ipaws_nevada_cancel_signed.xml").read_bytes())
    assert cancel.msg_type == "Cancel" and cancel.infos == () and cancel.references
    taiwan = parse_cap((EXAMPLES / "taiwan_wra_reservoir_release_zh.xml").read_bytes())  # has a BOM
    assert taiwan.infos[0].language.lower() == "zh-tw" and taiwan.infos[0].areas[0].geocodes
    amber = parse_cap((EXAMPLES / "oasis_appendix_a4_amber_alert.xml").read_text(encoding="utf-8"))
    assert [i.language for i in amber.infos] == ["en-US", "es-US"]


def test_parser_refuses_doctype_entities_and_non_cap() -> None:
    xxe = ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           f'<alert xmlns="{CAP_NS}"><identifier>&x;</identifier></alert>')
    with pytest.raises(CapError):
        parse_cap(xxe)
    with pytest.raises(CapError):
        parse_cap('<feed xmlns="http://www.w3.org/2005/Atom"/>')
    with pytest.raises(CapError):
        parse_cap("<alert")


def test_a_cap_message_is_in_the_deployment_language(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.cjk import assert_no_cjk
    from tests.language import speak

    warning = _warning(Level.red, "resolved", title="Repeated visits", region_path="Chengdu / Jinjiang",
                       summary="4 visits in 30 days", explanation="4 visits, over the threshold of 3")
    chinese = [parse_cap(d) for d in render_chain(warning, HISTORY, settings=Settings(cap_exercise=True))]
    assert {p.infos[0].language for p in chinese} == {"zh-CN"}
    assert chinese[1].infos[0].headline.startswith("预警升级：黄色（较重）预警")
    assert "签收" in chinese[0].infos[0].instruction and chinese[0].infos[0].sender_name == "烽火社会稳定风险预警平台"
    speak(monkeypatch, "en")
    docs = render_chain(warning, HISTORY, settings=Settings(cap_exercise=True))
    english = [parse_cap(d) for d in docs]
    assert {p.infos[0].language for p in english} == {"en-US"}
    assert english[-1].infos[0].instruction and english[-1].msg_type == "Cancel"
    for doc in docs:
        assert_no_cjk(doc)
