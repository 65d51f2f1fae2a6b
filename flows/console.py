"""Shared bits of the command line: one console, clean one-line errors, the store engine, JSON output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

from domain.beijing import BEIJING
from integrations.i18n import _, explain, translate

console = Console()
err_console = Console(stderr=True)

if TYPE_CHECKING:
    import sqlalchemy as sa


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one readable line (no traceback) and exit with ``code``."""
    # soft_wrap: an error stays one line whatever the terminal width, so `FILE:LINE: message` can be grepped.
    err_console.print("[bold red]" + _("错误：") + f"[/]{message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def located(error: Any) -> str:
    """``FILE:LINE: message`` of a rule-file error (:class:`rules.language.diagnostics.RuleError`) in the
    language in force: its message may be a :class:`domain.messages.Message` (rules/ knows no language)."""
    return f"{error.file}:{error.line}: {translate(error.message)}"


def beijing(at: datetime | None, *, seconds: bool = False) -> str:
    """``2026-12-04 10:05（北京时间）`` in the language in force (times are stored in UTC), or a dash;
    ``seconds``: to the second (a live log's times)."""
    if at is None:
        return "—"
    shown = at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return _("{time}（北京时间）").format(time=shown)


def open_engine() -> sa.Engine:
    """The configured store, migrated; a connection failure is one line saying what to check."""
    import sqlalchemy as sa

    from flows.store import store_engine
    from integrations.settings import get_settings

    url = get_settings().resolved_database_url
    try:
        return store_engine()
    except sa.exc.OperationalError as exc:
        fail(_("无法打开数据库 {url}：{reason}。请检查 FENGHUO_DATABASE_URL，并确认数据库正在运行。").format(
            url=sa.make_url(url).render_as_string(hide_password=True), reason=exc.orig))


def print_json(data: Any) -> None:
    """Print ``data`` as JSON for scripts (datetimes as ISO 8601, Chinese kept readable)."""
    typer.echo(json.dumps(data, ensure_ascii=False, default=str, indent=None))


@contextmanager
def report_errors(folder: Path) -> Iterator[None]:
    """Making a report: a folder that cannot be written, a store that cannot be read or a malformed input
    file end the command with one Chinese line saying what to check, never a traceback."""
    import sqlalchemy as sa

    try:
        yield
    except OSError as exc:
        fail(_("无法写入报告目录 {folder}：{reason}；请检查路径与权限").format(
            folder=folder, reason=exc.strerror or exc))
    except sa.exc.SQLAlchemyError as exc:
        fail(_("无法读取数据库：{reason}；请检查 FENGHUO_DATABASE_URL").format(
            reason=f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
    except ValueError as exc:  # e.g. a malformed region directory
        fail(explain(exc).splitlines()[0])
