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

from flows.console import console, fail

app = typer.Typer(help="Import records from a file as a source's delivery; export stored records.",
                  no_args_is_help=True)


def _time(text: str, option: str) -> datetime:
    """An ISO 8601 date or time; a bare one is Beijing time (where the records' days are counted)."""
    from flows.cli_rules import _since

    try:
        datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} 不是时间；请写成 2026-01-31 或 2026-01-31T23:59:59+08:00")
    return _since(text)


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="JSON lines (record-shaped, as `records export` writes) or .csv")],
    source: Annotated[str, typer.Option("--source", help="the declared source that delivered them")],
    complete_up_to: Annotated[str | None, typer.Option(
        "--complete-up-to", help="heartbeat: the source has sent everything up to this time")] = None,
    mapped: Annotated[bool, typer.Option(
        "--mapped", help="items in the department's own shape, through the source's mapping")] = False,
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
        fail(f"来源配置文件有误：{exc.errors[0]}；请运行 fenghuo sources check")
    if source not in sources.names:
        fail(f"未知来源 {source!r}；已配置的来源：{', '.join(sources.names)}")
    heartbeat = _time(complete_up_to, "--complete-up-to") if complete_up_to else None
    try:
        items = read_items(file)
    except ImportFileError as exc:
        fail(str(exc))
    if not items and heartbeat is None:
        fail(f"{file}: 文件中没有记录；若只是报告完整时间，请加 --complete-up-to")
    directory = RegionDirectory.load(settings.regions).names if settings.reject_unknown_regions else {}
    try:
        report = import_items(open_engine(), sources.get(source).config, items, kinds=load_kinds(settings.rulebook),
                              key=settings.pseudonym_key.get_secret_value(), now=datetime.now(UTC),
                              complete_up_to=heartbeat, mapped=mapped, known_regions=directory or None)
    except HeartbeatError as exc:
        fail(str(exc))
    hb = f"；完整至 {report.complete_up_to.isoformat()}" if report.complete_up_to else ""
    console.print(f"{source}: 入库 {report.accepted} 条，重复 {report.duplicates} 条，隔离 {report.quarantined} 条{hb}"
                  f"（accepted {report.accepted}, duplicates {report.duplicates}, quarantined {report.quarantined}）",
                  highlight=False, soft_wrap=True)
    if report.quarantined:
        console.print("隔离原因见 `fenghuo quarantine list`", highlight=False)


@app.command("export")
def export_cmd(
    since: Annotated[str, typer.Option(help="records with at from this date or time (Beijing time if bare)")],
    until: Annotated[str | None, typer.Option(help="up to this date or time (exclusive)")] = None,
    kind: Annotated[str | None, typer.Option(help="only records of this kind")] = None,
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
