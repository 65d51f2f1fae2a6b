"""The message catalogue: Chinese by default, English complete, unknown languages refused."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

from domain.kinds import RecordKinds
from integrations import i18n
from integrations.i18n import _, ngettext
from integrations.labels import label, step_label, value_label, vocabulary
from integrations.settings import PACKAGE_ROOT, get_settings, settings_problem


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """FENGHUO_LANG=en for this test."""
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()


def _marked_msgids() -> set[tuple[str | None, str]]:
    with (PACKAGE_ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "N_": None, "ngettext": (1, 2), "gettext": None, "pgettext": ((1, "c"), 2)}
    found: set[tuple[str | None, str]] = set()
    for _file, _line, message, _comments, context in extract_from_dir(
            str(PACKAGE_ROOT), method_map, options_map, keywords=keywords, strip_comment_tags=True):
        found.add((context, message if isinstance(message, str) else message[0]))
    return found


def test_every_marked_string_has_an_english_translation() -> None:
    with i18n.catalogue_path("en").open("rb") as po:
        catalogue = read_po(po, locale="en")
    translated = {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in catalogue if m.id}
    marked = _marked_msgids()
    assert len(marked) > 80  # the extraction found the code, the pages and the vocabulary
    missing = sorted(m for m in marked if m not in translated or not translated[m].string
                     or "fuzzy" in translated[m].flags)
    assert not missing, f"untranslated in locale/en (docs/translation.md): {missing}"
    for msgid in marked:  # a placeholder lost or renamed in translation would raise at run time
        message = translated[msgid]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for s in strings:
            assert set(re.findall(r"\{\w*\}", s)) == set(re.findall(r"\{\w*\}", msgid[1])), msgid
            assert set(re.findall(r"%\(\w+\)s", s)) == set(re.findall(r"%\(\w+\)s", msgid[1])), msgid


def test_chinese_is_the_default_and_needs_no_catalogue() -> None:
    assert get_settings().lang == "zh"
    assert _("已签收") == "已签收"
    assert label("status", "acknowledged") == "已签收"
    assert step_label("escalate-1") == "第1次升级"
    assert ngettext("{n} 条", "{n} 条", 2) == "{n} 条"


@pytest.mark.usefixtures("english")
def test_english_renders_values_and_steps() -> None:
    assert label("status", "acknowledged") == "acknowledged"
    assert label("task_status", "overdue") == "overdue"
    assert label("level_name", "red") == "Red"
    assert label("tier", "leadership") == "city leader on duty"
    assert step_label("escalate-1") == "escalation 1"
    assert step_label("raise-orange") == "level raised to Orange"
    assert step_label("remind-3") == "reminder 3"


@pytest.mark.usefixtures("english")
def test_an_untranslated_string_stays_chinese_never_empty() -> None:
    assert _("这句话没有译文") == "这句话没有译文"


def test_unknown_values_and_steps_are_shown_as_they_are() -> None:
    assert label("status", "frozen") == "frozen"
    assert step_label("teleport-2") == "teleport-2"


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(["escalate", "remind", "repeat", "stale"]))
def test_numbered_steps_keep_their_number(n: int, kind: str) -> None:
    assert str(n) in step_label(f"{kind}-{n}")


def test_every_vocabulary_value_is_named() -> None:
    assert all(v for table in vocabulary().values() for v in table.values())


def test_an_unknown_language_is_refused_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_LANG", "fr")
    get_settings.cache_clear()
    problem = settings_problem()
    assert problem is not None and "FENGHUO_LANG" in problem and "zh" in problem and "'fr'" in problem
    assert _("已签收") == "已签收"  # rendering before the refusal is Chinese, never a crash


def test_language_value_is_read_case_insensitively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FENGHUO_LANG", " EN ")
    get_settings.cache_clear()
    assert get_settings().lang == "en"


@pytest.mark.usefixtures("english")
def test_kinds_labels_render_through_the_catalogue(kinds: RecordKinds) -> None:
    assert value_label(kinds, "dispute", "type", "wage_arrears") == "wage arrears"
    assert value_label(kinds, "dispute", "type", "unheard-of") == "unheard-of"
    assert value_label(kinds, "nope", "type", "land") == "land"


@pytest.mark.usefixtures("english")
def test_the_empty_string_stays_empty_not_the_catalogue_header() -> None:
    assert _("") == ""


def test_the_intake_doors_refusals_are_one_language(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each refusal reads in the language in force, never "中文 (English)" side by side.
    from integrations.intake_api import _parse as parse_body
    from integrations.intake_api import _Refused

    with pytest.raises(_Refused) as chinese:
        parse_body(b"\xff\xfe")
    assert str(chinese.value) == "请求体须为 UTF-8 编码的 JSON"
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    with pytest.raises(_Refused) as english:
        parse_body(b"\xff\xfe")
    assert str(english.value) == "the body must be UTF-8 JSON"


def test_pydantic_refusals_and_bad_settings_read_in_the_language_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    # A bad setting is refused in FENGHUO_LANG's language even though the settings cannot be read.
    from integrations.i18n import translate

    monkeypatch.setenv("FENGHUO_DELIVERY_SWEEP_S", "-1")
    get_settings.cache_clear()
    problem = settings_problem()
    assert problem is not None and translate(problem) == "FENGHUO_DELIVERY_SWEEP_S 须大于 0，得到 '-1'"
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    said = translate(settings_problem())
    assert said == "FENGHUO_DELIVERY_SWEEP_S must be greater than 0, got '-1'"
    assert "Input should" not in said and "pydantic" not in said


def test_cap_parse_refusals_read_in_the_language_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.cap import CapError, parse_cap

    def refusals() -> list[str]:
        said = []
        for doc in ("<alert", '<feed xmlns="http://www.w3.org/2005/Atom"/>',
                    '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>',
                    '<?xml version="1.0"?><!DOCTYPE a []><alert/>'):
            with pytest.raises(CapError) as caught:
                parse_cap(doc)
            said.append(str(caught.value))
        return said

    chinese = refusals()
    assert chinese[0].startswith("XML 格式有误") and chinese[1].startswith("不是 CAP 1.2 预警消息")
    assert chinese[2] == "CAP 消息缺少 <sender> 或其为空" and chinese[3] == "预警消息中不允许出现 DOCTYPE 声明"
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    english = refusals()
    assert english[0].startswith("not well-formed XML") and english[1].startswith("not a CAP 1.2 alert")
    assert english[2] == "the CAP message has no <sender>, or it is empty"
    assert english[3] == "a DOCTYPE is not allowed in an alert"
    assert not any(re.search(r"[\u4e00-\u9fff]", s) for s in english), english
