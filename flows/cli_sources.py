"""``fenghuo sources …``: check ``sources.yaml`` and try one source without storing anything.

Plain functions over the store-free source machinery; Prefect is never imported here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from flows.console import console, fail, located, print_json
from integrations.i18n import _, explain, translate

app = typer.Typer(help=_("检查部门数据源配置文件，试取一个数据源。"), no_args_is_help=True)

FileOpt = Annotated[Path | None, typer.Option("--file", "-f", help=_("数据源配置文件（默认：settings.sources_file）"))]


def _kinds() -> Any:
    """The record kinds in force: the rulebook folder's kinds.yaml if it has one, else the shipped one."""
    from domain.kinds import RecordKinds
    from integrations.settings import PACKAGE_ROOT, get_settings

    own = get_settings().rulebook / "kinds.yaml"
    return RecordKinds.load(own if own.is_file() else PACKAGE_ROOT / "rules" / "kinds.yaml")


def _load(file: Path | None, kinds: Any) -> Any:
    from integrations.settings import get_settings
    from integrations.sources.config import SourcesFileError, load_sources

    settings = get_settings()
    try:
        return load_sources(file or settings.sources_file, settings=settings, kinds=kinds)
    except SourcesFileError as exc:
        for error in exc.errors:
            typer.echo(located(error), err=True)  # plain: one unwrapped FILE:LINE: line per error, for editors
        raise typer.Exit(1) from None


@app.command("check", help=_("检查数据源配置文件：每个问题一行 FILE:LINE: 说明，有问题时退出码为 1。"))
def check_cmd(file: FileOpt = None) -> None:
    """Validate the sources file: one ``FILE:LINE: message`` per problem, exit 1 if there is any."""
    from integrations.settings import get_settings

    loaded = _load(file, _kinds())
    secrets = get_settings().source_secrets
    for spec in loaded.specs:
        where = {"rest": spec.base_url + spec.config.path, "push": f"POST /v1/intake/{spec.name}",
                 "register": _("台账 register_person（存储）")}.get(
            spec.transport, str(spec.folder))
        console.print(f"  {spec.name:<22} {spec.config.kind:<15} {spec.transport:<8} {where}", highlight=False)
        if spec.push_token is not None and spec.push_token not in secrets:
            typer.echo(f"{loaded.path}:{spec.line}: " + _(
                "警告：{name}：推送令牌 {token} 未在 FENGHUO_SOURCE_SECRETS 中设置（推送入口会拒绝其推送）").format(
                name=spec.name, token=repr(spec.push_token)), err=True)
        if spec.auth.secret is not None and spec.auth.secret not in secrets:
            # Not a fault of the file, but the source cannot run until it is set.
            typer.echo(f"{loaded.path}:{spec.line}: " + _(
                    "警告：{name}：密钥 {secret} 未在 FENGHUO_SOURCE_SECRETS 中设置").format(
                name=spec.name, secret=repr(spec.auth.secret)), err=True)
    console.print("[green]" + _(
            "通过") + "[/]" + _("：{path} 中有 {n} 个数据源").format(n=len(loaded.specs), path=loaded.path))
    from integrations.ingest import speedups

    if speedups.UNAVAILABLE is not None:  # not a fault of the file: the same records, at about half the speed
        typer.echo(_("警告：采集在没有 C 扩展的情况下运行：{reason}").format(reason=speedups.UNAVAILABLE), err=True)


def _attrs(attrs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in attrs.items())


@app.command("test", help=_("从 NAME 取一页数据，显示映射后的记录与被拒绝的条目；不存储。"))
def test_cmd(
    name: Annotated[str, typer.Argument(help=_("数据源名称，与配置文件中一致"))],
    file: FileOpt = None,
    limit: Annotated[int, typer.Option(help=_("要取的条数"))] = 20,
    cursor: Annotated[str | None, typer.Option(help=_("从此处开始，而不是从头开始"))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("输出 JSON lines，供脚本使用"))] = False,
) -> None:
    """Fetch one page of NAME and show the mapped records and the rejections; stores nothing."""
    from domain.records import Record
    from integrations.settings import get_settings
    from integrations.sources.base import SourceError
    from integrations.sources.factory import build_source
    from integrations.sources.mapping import map_item

    settings = get_settings()
    kinds = _kinds()
    loaded = _load(file, kinds)
    try:
        spec = loaded.get(name)
    except KeyError as exc:
        fail(translate(exc.args[0]))
    if spec.transport == "push":
        fail(_("来源 {name} 只接收推送（POST /v1/intake/{name}），没有可拉取的页面").format(name=name))
    now = datetime.now(UTC)
    key = settings.pseudonym_key.get_secret_value()
    try:
        source = build_source(spec, settings)
        try:
            page = source.fetch(cursor, limit=limit)
        finally:
            source.close()
    except SourceError as exc:
        fail(explain(exc))
    mapped = [map_item(raw, spec.config, kinds, key, now=now) for raw in page.items]
    records = [m for m in mapped if isinstance(m, Record)]
    rejected = [m for m in mapped if not isinstance(m, Record)]
    if as_json:
        for r in records:
            print_json({"ok": True, **r.model_dump(mode="json")})
        for j in rejected:
            print_json({"ok": False, "id": j.source_id, "code": j.code, "reason": translate(j.reason)})
        return
    table = Table(box=box.SIMPLE, title=_("{name}：{n} 条记录").format(name=name, n=len(records)))
    for column in ("id", "at", "region", "attributes"):
        table.add_column(column, overflow="fold", no_wrap=column != "attributes")
    for r in records:
        table.add_row(r.id, r.at.isoformat(timespec="seconds"), r.region, _attrs(r.attributes))
    console.print(table)
    if rejected:
        bad = Table(box=box.SIMPLE, title=_("{n} 条被拒（将被隔离）").format(n=len(rejected)))
        for column in ("id", "code", "reason"):
            bad.add_column(column, overflow="fold")
        for j in rejected:
            bad.add_row(j.source_id or "-", j.code, translate(j.reason))
        console.print(bad)
    if page.error:
        console.print("[yellow]" + _("该页无法读取") + "[/]" + _("：") + str(translate(page.error)))
    console.print(_("页 {page}；下一游标 {cursor}；还有更多：{more}。未存储任何数据。").format(
        page=page.page_ref, cursor=repr(page.next_cursor), more=_("是") if page.has_more else _("否")), highlight=False)


def _mount_status() -> None:
    from flows.cli_sources_status import status_cmd

    app.command("status", help=_(
        "各数据源的最新记录、最近心跳、延迟、状态，以及最近一天被隔离的条目。"))(status_cmd)


_mount_status()
