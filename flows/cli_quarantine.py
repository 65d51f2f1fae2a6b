"""``fenghuo quarantine …``: list, show and replay input that failed validation.

``replay`` re-maps the stored payload with the CURRENT sources file (after the mapping or the department
was fixed): valid ones are stored as if they had just arrived, still-invalid ones keep a new reason.
Prefect is never imported here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from domain.beijing import BEIJING
from flows.console import beijing, console, fail, located, open_engine, print_json
from integrations.i18n import _, translate
from integrations.wording import worded

app = typer.Typer(help=_("隔离区：列出、查看、重放未通过校验的输入。"), no_args_is_help=True)


def _row(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in ("id", "source", "source_id", "page", "received_at", "replayed_at")} | {
        "reason": worded(row.reason)}


@app.command("list", help=_("隔离的输入，最早的在前（默认不含已重放的；加 --replayed 包含）。"))
def list_cmd(
    source: Annotated[str | None, typer.Option(help=_("只看该数据源"))] = None,
    replayed: Annotated[bool, typer.Option(help=_("包含已重放的条目"))] = False,
    limit: Annotated[int, typer.Option(help=_("最多列出条数"))] = 100,
    as_json: Annotated[bool, typer.Option("--json", help=_("输出 JSON lines（供脚本使用）"))] = False,
) -> None:
    """Quarantined input, oldest first (not yet replayed, unless --replayed)."""
    from integrations.store.db import session_scope
    from integrations.store.records import list_quarantine

    with session_scope(open_engine()) as s:
        rows = list_quarantine(session=s, source=source, limit=limit, include_replayed=replayed)
    if as_json:
        for r in rows:
            print_json(_row(r))
        return
    table = Table(box=box.SIMPLE, title=_("隔离 {n} 条").format(n=len(rows)))
    for column in (_("编号"), _("数据源"), _("来源编号"), _("收到时间（北京时间）"), _("原因")):
        table.add_column(column, overflow="fold")
    for r in rows:
        received = f"{r.received_at.astimezone(BEIJING):%Y-%m-%d %H:%M}"  # the column says Beijing time
        table.add_row(str(r.id), r.source, r.source_id or "-", received,
                      worded(r.reason)[:160] + (" " + _("［已重放］") if r.replayed_at else ""))
    console.print(table)


@app.command("show", help=_("查看一条隔离的输入：原因、所在页，以及原始内容（已化名）。"))
def show_cmd(
    entry: Annotated[int, typer.Argument(help=_("隔离编号"))],
    as_json: Annotated[bool, typer.Option("--json", help=_("输出 JSON（供脚本使用）"))] = False,
) -> None:
    """One quarantined input: its reason, the page it came on, and the raw payload (pseudonymised)."""
    from integrations.store.db import session_scope
    from integrations.store.models import QuarantineRow

    with session_scope(open_engine()) as s:
        row = s.get(QuarantineRow, entry)
    if row is None:
        fail(_("没有隔离编号 {id}；`fenghuo quarantine list` 列出隔离的输入").format(id=entry))
    if as_json:
        print_json({**_row(row), "raw": row.raw})
        return
    colon = _("：")
    for label, value in ((_("编号"), row.id), (_("数据源"), row.source), (_("来源编号"), row.source_id or "-"),
                         (_("所在页"), row.page or "-"), (_("收到时间"), beijing(row.received_at)),
                         (_("重放时间"), beijing(row.replayed_at) if row.replayed_at else _("未重放")),
                         (_("原因"), worded(row.reason))):
        console.print(f"[bold]{label}[/]{colon}{value}", highlight=False)
    console.print("[bold]" + _("原始内容") + "[/]" + colon)
    console.print(row.raw, highlight=False, markup=False, soft_wrap=True)


@app.command("replay", help=_("用当前的数据源配置重新映射隔离的输入；现已有效的入库。"))
def replay_cmd(
    ids: Annotated[list[int] | None, typer.Argument(help=_("要重放的隔离编号"))] = None,
    all_: Annotated[bool, typer.Option("--all", help=_("所有尚未重放的条目"))] = False,
    source: Annotated[str | None, typer.Option(help=_("只重放该数据源"))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("输出 JSON（供脚本使用）"))] = False,
) -> None:
    """Map quarantined payloads again with the current sources file; store the ones now valid."""
    from domain.kinds import RecordKinds
    from integrations.replay import built_in_sources, replay_quarantine
    from integrations.settings import PACKAGE_ROOT, get_settings
    from integrations.sources.config import SourcesFileError, load_sources

    if not ids and not all_:
        fail(_("请给出要重放的隔离编号，或用 --all（可加 --source 只重放一个来源）"))
    settings = get_settings()
    own = settings.rulebook / "kinds.yaml"
    kinds = RecordKinds.load(own if own.is_file() else PACKAGE_ROOT / "rules" / "kinds.yaml")
    try:
        configs = {**built_in_sources(kinds),
                   **{s.name: s.config for s in load_sources(settings.sources_file, settings=settings).specs}}
    except SourcesFileError as exc:
        fail(_("数据源配置文件有误，请先修正（`fenghuo sources check`）：\n{error}").format(
            error="\n".join(located(e) for e in exc.errors)))
    report = replay_quarantine(open_engine(), None if all_ else ids, configs=configs, kinds=kinds,
                               key=settings.pseudonym_key.get_secret_value(), now=datetime.now(UTC), source=source)
    if as_json:
        print_json({"replayed": report.replayed,
                    "still_invalid": {k: worded(v) for k, v in report.still_invalid.items()},
                    "skipped": {k: translate(v) for k, v in report.skipped.items()},
                    "inserted": report.inserted, "updated": report.updated, "unchanged": report.unchanged})
        return
    console.print(_("已重放 {n} 条（入库：新增 {new}，更新 {changed}，未变 {same}）；"
                    "仍无效 {invalid} 条；跳过 {skipped} 条").format(
                      n=len(report.replayed), new=report.inserted, changed=report.updated, same=report.unchanged,
                      invalid=len(report.still_invalid), skipped=len(report.skipped)), highlight=False)
    colon = _("：")
    for qid, reason in report.still_invalid.items():
        console.print(f"  {qid}{colon}{worded(reason)}", highlight=False, markup=False)
    for qid, reason in report.skipped.items():
        console.print("  " + _("{id}：跳过，{reason}").format(id=qid, reason=translate(reason)), highlight=False,
                      markup=False)
    if report.skipped and not report.replayed and not report.still_invalid:
        raise typer.Exit(1)
