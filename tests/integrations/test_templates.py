"""Message layouts as data: sandboxed Jinja2 templates per step and channel, checked at load with
FILE:LINE errors, used by routing for their channel only, shown by ``notifications preview``."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from domain.escalation import EscalationPolicy
from flows.cli import app
from integrations.notify.templates import TemplateFileError, load_templates
from integrations.route import route_warning
from integrations.store.db import session_scope
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, small_directory, warning

OPEN = "【{{ colour }}】{{ title }} @ {{ place }}\n摘要 {{ summary }}\n责任 {{ holder }}，{{ ack_due_at }} 前确认\n"


def _write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_no_folder_or_no_file_means_the_built_in_layout(tmp_path: Path) -> None:
    assert not load_templates(tmp_path / "none") and not load_templates(tmp_path)


@pytest.mark.parametrize(("name", "text", "line", "words"), [
    ("open.j2", "subject\n{% if %}\n", 2, "Expected an expression"),
    ("open.j2", "subject\nok\n{{ no_such_name }}\n", 3, "no_such_name"),
    ("open.j2", "subject\n{{ ''.__class__.__mro__ }}\n", 2, "unsafe"),
    ("closing.j2", "x\n", 1, "unknown template"),
])
def test_errors_name_file_and_line(tmp_path: Path, name: str, text: str, line: int, words: str) -> None:
    _write(tmp_path, name, text)
    with pytest.raises(TemplateFileError) as err:
        load_templates(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / name}:{line}: ") and words in message, message


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
    assert by_channel["file"].subject.startswith("【橙色预警】集体访")  # built-in for the other channel


def test_preview_shows_the_template_or_the_built_in_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.console import open_engine
    from integrations.settings import get_settings

    folder = tmp_path / "templates"
    _write(folder, "wecom/open.j2", OPEN)
    monkeypatch.setenv("FENGHUO_TEMPLATES_DIR", str(folder))
    get_settings.cache_clear()
    w = warning("orange")
    with session_scope(open_engine()) as s:
        s.add(w)
    runner = CliRunner()
    shown = runner.invoke(app, ["notifications", "preview", str(w.id), "--channel", "wecom", "--step", "open"])
    assert shown.exit_code == 0, shown.output
    assert "template" in shown.stdout and "【橙色】集体访" in shown.stdout
    built_in = runner.invoke(app, ["notifications", "preview", str(w.id), "--channel", "file", "--step",
                                   "remind-2"])
    assert "built-in" in built_in.stdout and "催办" in built_in.stdout
    assert runner.invoke(app, ["notifications", "preview", "999"]).exit_code == 1
    _write(folder, "open.j2", "{{ nope }}\n")
    broken = runner.invoke(app, ["notifications", "preview", str(w.id)])
    assert broken.exit_code == 1 and "open.j2:1:" in broken.output
