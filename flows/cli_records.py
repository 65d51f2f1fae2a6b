"""``fenghuo records import|export``: records in and out of the store as files (never starts Prefect).

``import FILE --source NAME`` stores a file's items as if the source NAME had delivered them
(:mod:`integrations.records_io`); ``export --since DATE`` writes stored records as the JSON lines that
``fenghuo backtest --records`` reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from flows.console import console, fail, located
from integrations.i18n import _, explain

app = typer.Typer(help=_("从文件导入记录（视同来源送达）；导出已存记录。"),
                  no_args_is_help=True)


def _time(text: str, option: str) -> datetime:
    """An ISO 8601 date or time; a bare one is Beijing time (where the records' days are counted)."""
    from flows.cli_rules import _since

    try:
        datetime.fromisoformat(text)
    except ValueError:
        fail(_("{option} {text!r} 不是时间；请写成 2026-01-31 或 2026-01-31T23:59:59+08:00").format(
            option=option, text=text))
    return _since(text)


@app.command("import", help=_(
        "把 FILE 中的条目当作 SOURCE 送来的数据存储：校验、假名化，不合格的连同原因隔离，按 id 幂等。"
        "空文件加 --complete-up-to 即为一次心跳。"))
def import_cmd(
    file: Annotated[Path, typer.Argument(help=_("JSON lines（记录格式，即 `records export` 的输出）或 .csv"))],
    source: Annotated[str, typer.Option("--source", help=_("送达这些记录的已配置来源"))],
    complete_up_to: Annotated[str | None, typer.Option(
        "--complete-up-to", help=_("心跳：来源已送达此时间之前的全部记录"))] = None,
    mapped: Annotated[bool, typer.Option(
        "--mapped", help=_("部门原始格式的数据，经来源的字段映射转换"))] = False,
) -> None:
    """Store FILE's items as if SOURCE had delivered them: validated, pseudonymised, quarantined with their
    reason, idempotent by id. An empty file with --complete-up-to is a bare heartbeat."""
    from domain.regions import RegionDirectory
    from domain.watermarks import HeartbeatError
    from flows.console import open_engine
    from integrations.ingest.run import load_kinds
    from integrations.records_io import ImportFileError, import_items, read_items
    from integrations.settings import get_settings
    from integrations.sources.config import SourcesFileError
    from integrations.sources.factory import configured_sources

    settings = get_settings()
    try:
        sources = configured_sources(settings)
    except SourcesFileError as exc:
        fail(_("来源配置文件有误：{error}；请运行 fenghuo sources check").format(error=located(exc.errors[0])))
    if source not in sources.names:
        fail(_("未知来源 {source!r}；已配置的来源：{names}").format(source=source, names=", ".join(sources.names)))
    heartbeat = _time(complete_up_to, "--complete-up-to") if complete_up_to else None
    try:
        items = read_items(file)
    except ImportFileError as exc:
        fail(explain(exc))
    if not items and heartbeat is None:
        fail(_("{file}: 文件中没有记录；若只是报告完整时间，请加 --complete-up-to").format(file=file))
    directory = RegionDirectory.load(settings.regions).names if settings.reject_unknown_regions else {}
    try:
        report = import_items(open_engine(), sources.get(source).config, items, kinds=load_kinds(settings.rulebook),
                              key=settings.pseudonym_key.get_secret_value(), now=datetime.now(UTC),
                              complete_up_to=heartbeat, mapped=mapped, known_regions=directory or None)
    except HeartbeatError as exc:
        fail(explain(exc))
    hb = _("；完整至 {at}").format(at=report.complete_up_to.isoformat()) if report.complete_up_to else ""
    console.print(_("{source}: 入库 {accepted} 条，重复 {duplicates} 条，隔离 {quarantined} 条{hb}"
                    "（accepted {accepted}, duplicates {duplicates}, quarantined {quarantined}）").format(
                      source=source, accepted=report.accepted, duplicates=report.duplicates,
                      quarantined=report.quarantined, hb=hb), highlight=False, soft_wrap=True)
    if report.quarantined:
        console.print(_("隔离原因见 `fenghuo quarantine list`"), highlight=False)


@app.command("export", help=_(
        "以 JSON lines 导出已存储的记录（kind、source、id、at、region、fields），即 backtest --record"
        "s 读取的格式。"))
def export_cmd(
    since: Annotated[str, typer.Option(help=_("从此日期或时间起的记录（不带时区即北京时间）"))],
    until: Annotated[str | None, typer.Option(help=_("到此日期或时间为止（不含）"))] = None,
    kind: Annotated[str | None, typer.Option(help=_("只导出此类记录"))] = None,
) -> None:
    """Stored records as JSON lines (kind, source, id, at, region, fields), the shape `backtest --records` reads."""
    from flows.console import open_engine
    from integrations.records_io import export_lines

    start = _time(since, "--since")
    end = _time(until, "--until") if until else None
    engine = open_engine()
    try:
        for line in export_lines(engine, start, end, kind):
            typer.echo(line)
    finally:
        engine.dispose()
