"""Message layouts as data: the shipped Jinja2 templates lay out every step for every channel, in Chinese
and English; an operator's folder replaces them file by file; they are sandboxed and checked at load
with FILE:LINE errors; ``notifications preview`` shows any step."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from domain.escalation import EscalationPolicy
from flows.cli import app
from integrations.notify.message_context import sample_context
from integrations.notify.templates import (
    CHANNELS,
    SHIPPED,
    STEPS,
    TemplateFileError,
    default_templates,
    load_templates,
    templates_for,
)
from integrations.route import route_warning
from integrations.settings import Settings
from integrations.store.db import session_scope
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, small_directory, warning

OPEN = "【{{ colour }}】{{ title }} @ {{ place }}\n摘要 {{ summary }}\n责任 {{ holder }}，{{ ack_due_at }} 前确认\n"


def _write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("step", [*STEPS, "remind-2", "raise-orange", "escalate-1"])
def test_every_shipped_template_renders_for_every_channel(lang: str, step: str) -> None:
    templates = load_templates(None, lang)
    context = sample_context(step.split("-")[0])
    words = [v for v in context.values() if isinstance(v, str)]
    words += [w for m in context.get("members", []) for w in (m["subject"], *m["lines"])]
    values = sorted(words, key=len, reverse=True)
    for channel in (None, *CHANNELS):
        text = templates.render(channel, step, context)
        assert text.subject and "\n" not in text.subject and text.body, (channel, step)
        assert "{{" not in text.subject + text.body and "{%" not in text.body
        own = text.subject + text.body
        for value in values:  # what the layout itself says, without the warning's own words
            own = own.replace(value, "")
        chinese = any("\u4e00" <= ch <= "\u9fff" for ch in own)
        assert chinese == (lang == "zh"), own  # English layouts carry no Chinese of their own


def test_the_shipped_open_layout_is_the_one_responders_know() -> None:
    text = load_templates().render(None, "remind-2", sample_context("remind-2"))
    assert text.subject.endswith("（催办：仍未确认（第 2 次））")
    lines = text.body.splitlines()
    assert lines[0] == "〔催办：仍未确认（第 2 次）〕" and "一键确认：https://example.invalid/a" in lines
    assert lines[-1] == "本系统只作预警提示，处置由责任人依法依规决定。"
    assert "一键" not in load_templates().render(None, "open", {**sample_context("open"), "links": {}}).body


def test_an_override_replaces_its_file_only_and_english_is_preferred_when_asked(tmp_path: Path) -> None:
    _write(tmp_path, "open.j2", "自定义 {{ title }}\n正文 {{ id }}\n")
    _write(tmp_path, "en/stale.j2", "custom stale {{ title }}\nbody\n")
    zh = load_templates(tmp_path)
    assert zh.render("email", "open", sample_context("open")).subject == "自定义 示例预警"
    assert zh.render(None, "raise-red", sample_context("raise")).subject.startswith("【橙色预警】")  # shipped
    en = load_templates(tmp_path, "en")
    assert en.render(None, "stale", sample_context("stale")).subject == "custom stale 示例预警"
    assert en.render(None, "escalate-1", sample_context("escalate")).subject.startswith("[ORANGE WARNING]")
    # English first: the shipped en/open.j2 comes before the operator's Chinese open.j2.
    assert en.render(None, "open", sample_context("open")).subject.startswith("[ORANGE WARNING]")


def test_missing_override_folder_or_unknown_language_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateFileError, match=r":1: 模板文件夹不存在"):
        load_templates(tmp_path / "none")
    with pytest.raises(TemplateFileError, match="未知的语言"):
        load_templates(None, "fr")
    assert load_templates(tmp_path).by_key.keys() == load_templates().by_key.keys()  # empty folder: shipped


@pytest.mark.parametrize(("name", "text", "line", "words"), [
    ("open.j2", "subject\n{% if %}\n", 2, "Expected an expression"),
    ("open.j2", "subject\nok\n{{ no_such_name }}\n", 3, "no_such_name"),
    ("open.j2", "subject\n{{ ''.__class__ }}\n", 2, "SecurityError"),
    ("open.j2", "subject\n{{ ''.__class__.__mro__ }}\n", 2, "unsafe"),
    ("open.j2", "subject\nok\n{{ 1 // 0 }}\n", 3, "ZeroDivisionError"),
    ("digest.j2", "s\n{% for m in members %}{{ m.nope }}{% endfor %}\n", 2, "nope"),
    ("_warning.j2", "s\n\n{{ broken(\n", 3, "模板语法错误"),
    ("closing.j2", "x\n", 1, "未知的通知环节 closing"),
    ("sms/open.j2", "x\n", 1, "未知的渠道文件夹 sms"),
    ("en/wecom/deep/open.j2", "x\n", 1, "文件夹层次过深"),
    ("open.j2", '{% include "_nowhere.j2" %}\n', 1, "找不到被引用的模板 _nowhere.j2"),
])
def test_errors_name_file_and_line(tmp_path: Path, name: str, text: str, line: int, words: str) -> None:
    _write(tmp_path, name, text)
    with pytest.raises(TemplateFileError) as err:
        load_templates(tmp_path)
    first = str(err.value).splitlines()[0]
    assert first.startswith(f"{tmp_path / name}:{line}: ") and words in first, str(err.value)


def test_sandbox_blocks_attribute_access_at_render_time_too() -> None:
    from jinja2.exceptions import SecurityError

    template = load_templates().find(None, "open").environment.from_string("{{ ''.__class__ }}")
    with pytest.raises(SecurityError):
        template.render()


def test_templates_are_compiled_once_and_reloaded_when_a_file_changes(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.notify.templates.RECHECK_S", 3600.0)
    settings = Settings(templates_dir=tmp_path)
    first = templates_for(settings)
    _write(tmp_path, "open.j2", "新 {{ title }}\n正文\n")
    assert templates_for(settings) is first  # not looked at again within RECHECK_S
    monkeypatch.setattr("integrations.notify.templates.RECHECK_S", 0.0)
    assert templates_for(settings) is not first
    assert templates_for(settings).render(None, "open", sample_context("open")).subject == "新 示例预警"
    assert default_templates() is templates_for(Settings())


def test_a_channel_template_lays_out_that_channel_only(engine: sa.Engine, tmp_path: Path) -> None:
    _write(tmp_path, "webhook/open.j2", OPEN)
    templates = load_templates(tmp_path)
    w = warning("orange", summary="60 人集体访，联系人 13812345678")
    with session_scope(engine) as s:
        s.add(w)
        s.flush()
        rows = route_warning(session=s, warning=w, change="opened", policy=EscalationPolicy(),
                             directory=small_directory(), regions=REGIONS, now=MONDAY_10_BJ, templates=templates)
    by_channel = {r.channel: r for r in rows}
    hook = by_channel["webhook"]
    assert hook.subject == "【橙色】集体访 @ 锦江区 春熙路街道 和平社区"
    assert hook.body.startswith("摘要 60 人集体访") and "13812345678" not in hook.body  # masked like any message
    assert "区县 锦江区" in hook.body
    assert by_channel["file"].subject.startswith("【橙色预警】集体访")  # the shipped layout for the other channel


def test_english_routing_when_lang_is_en(engine: sa.Engine) -> None:
    w = warning("orange")
    with session_scope(engine) as s:
        s.add(w)
        s.flush()
        rows = route_warning(session=s, warning=w, change="opened", policy=EscalationPolicy(),
                             directory=small_directory(), regions=REGIONS, now=MONDAY_10_BJ,
                             templates=load_templates(None, "en"))
    assert rows and all(r.subject.startswith("[ORANGE WARNING] 集体访") for r in rows)
    assert all(f"Ack command: fenghuo warnings ack {w.id} --as " in r.body for r in rows)


def test_shipped_folder_holds_a_template_for_every_step_in_both_languages() -> None:
    for step in STEPS:
        assert (SHIPPED / f"{step}.j2").is_file() and (SHIPPED / "en" / f"{step}.j2").is_file()


def test_preview_shows_every_step() -> None:
    from flows.console import open_engine

    w = warning("yellow")
    with session_scope(open_engine()) as s:  # one store for every step: migrating is the slow part
        s.add(w)
    runner = CliRunner()
    for step in (*STEPS, "remind-3"):
        shown = runner.invoke(app, ["notifications", "preview", str(w.id), "--channel", "wecom", "--step", step])
        assert shown.exit_code == 0, shown.output
        assert f"环节 {step}" in shown.stdout
        assert ("【预警汇总】1 条预警（黄色 1 条）" if step == "digest"
                else "【预警已办结】集体访" if step == "resolve" else "【黄色预警】集体访") in shown.stdout
    for step, words in (("open", "[YELLOW WARNING] 集体访"), ("digest", "[Digest] 1 warning (yellow 1)"),
                        ("resolve", "[Warning resolved] 集体访")):
        english = runner.invoke(app, ["notifications", "preview", str(w.id), "--step", step, "--lang", "en"])
        assert english.exit_code == 0 and words in english.stdout, english.output


def test_preview_uses_the_override_and_says_what_is_wrong_in_chinese(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.console import open_engine
    from integrations.settings import get_settings

    folder = tmp_path / "templates"
    _write(folder, "wecom/open.j2", OPEN)
    monkeypatch.setenv("FENGHUO_TEMPLATES", str(folder))
    get_settings.cache_clear()
    w = warning("orange")
    with session_scope(open_engine()) as s:
        s.add(w)
    runner = CliRunner()
    shown = runner.invoke(app, ["notifications", "preview", str(w.id), "--channel", "wecom", "--step", "open"])
    assert shown.exit_code == 0, shown.output
    assert "【橙色】集体访" in shown.stdout
    for args, words in ((["999"], "没有编号为 999 的预警"), ([str(w.id), "--step", "closing"], "未知的通知环节"),
                        ([str(w.id), "--channel", "sms"], "未知的渠道 sms"),
                        ([str(w.id), "--lang", "fr"], "未知的语言 fr")):
        bad = runner.invoke(app, ["notifications", "preview", *args])
        assert bad.exit_code == 1 and words in bad.output and "Traceback" not in bad.output, bad.output
    _write(folder, "open.j2", "{{ nope }}\n")
    broken = runner.invoke(app, ["notifications", "preview", str(w.id)])
    assert broken.exit_code == 1 and "消息模板有误" in broken.output and f"{folder / 'open.j2'}:1:" in broken.output


def test_an_override_failing_on_one_warning_gives_way_to_the_shipped_layout(tmp_path: Path,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    # Passes the load check (the sample has a summary) but fails for a warning without one.
    _write(tmp_path, "open.j2", "{{ summary.upper() }}\n正文\n")
    templates = load_templates(tmp_path)
    assert templates.render(None, "open", sample_context("open")).subject == "示例摘要"
    text = templates.render(None, "open", {**sample_context("open"), "summary": None})
    assert text.subject.startswith("【橙色预警】示例预警") and "摘要：—" in text.body
    assert f"{tmp_path / 'open.j2'}:1: 模板渲染失败，改用自带模板" in caplog.text
    with pytest.raises(TypeError):
        load_templates().render(None, "open", {**sample_context("open"), "links": None})  # shipped: no fallback


_FILES = [(channel, step) for channel in (None, "wecom", "email") for step in ("open", "digest", "resolve")]


@settings(max_examples=12, deadline=None)
@given(st.sets(st.sampled_from(_FILES)), st.sampled_from(["zh", "en"]))
def test_the_most_specific_file_wins_and_missing_ones_fall_back_to_shipped(
        present: set[tuple[str | None, str]], lang: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for channel, step in present:
            _write(Path(folder), f"{channel}/{step}.j2" if channel else f"{step}.j2", f"override {channel}\nbody\n")
        templates = load_templates(Path(folder), lang)
        for channel, step in _FILES:
            subject = templates.render(channel, step, sample_context(step)).subject
            if lang == "en":  # the shipped English layouts come before any Chinese file
                assert not subject.startswith("override"), subject
            elif (channel, step) in present:
                assert subject == f"override {channel}"
            elif (None, step) in present:
                assert subject == "override None"
            else:
                assert not subject.startswith("override"), subject


def test_an_english_deployment_names_the_holder_and_the_template_errors_in_english(
        engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from integrations.settings import get_settings

    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    w = warning("orange")
    with session_scope(engine) as s:
        s.add(w)
        s.flush()
        rows = route_warning(session=s, warning=w, change="opened", policy=EscalationPolicy(),
                             directory=small_directory(), regions=REGIONS, now=MONDAY_10_BJ,
                             templates=load_templates(None, "en"))
    assert rows and all("district 锦江区" in r.body and "区县" not in r.body for r in rows)  # the place is data
    with pytest.raises(TemplateFileError) as caught:
        load_templates(tmp_path / "missing", "en")
    assert "the template folder does not exist" in str(caught.value)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "nope.j2").write_text("x", encoding="utf-8")
    with pytest.raises(TemplateFileError) as caught:
        load_templates(tmp_path / "x", "en")
    assert "unknown notification step nope" in str(caught.value) and "模板" not in str(caught.value)
