"""``fenghuo register import|list|show|close``: the register (台账) of people to care for.

Read and write the store directly; they never start Prefect. A person is shown by pseudonym only: the ID
number was pseudonymised at import and is not kept.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from domain.beijing import BEIJING
from flows.console import beijing, console, fail, open_engine, print_json
from integrations.i18n import _, explain, translate
from integrations.wording import worded

if TYPE_CHECKING:
    from domain.registers import CareCategories
    from integrations.store.registers import RegisterPersonRow

app = typer.Typer(help=_("关爱对象台账：导入、列出、查看、关闭。"), no_args_is_help=True)

SHOWN_PROBLEMS = 40


def _categories() -> CareCategories:
    from domain.registers import CareCategories, CategoriesError
    from integrations.settings import get_settings

    try:
        return CareCategories.load(get_settings().care_categories)
    except CategoriesError as exc:
        fail(_("{reason}（类别文件：settings.care_categories / FENGHUO_CARE_CATEGORIES）").format(reason=explain(exc)))


def _row_dict(row: RegisterPersonRow, categories: CareCategories, today: date) -> dict[str, Any]:
    return {"id": row.id, "person": row.person, "category": row.category, "title": categories.title(row.category),
            "grid": row.grid, "start_date": row.start_date, "end_date": row.end_date, "closed_at": row.closed_at,
            "closed_reason": row.closed_reason, "created_at": row.created_at, "source_file": row.source_file,
            "source_line": row.source_line, "next_due": _next_due(row, categories, today)}


def _next_due(row: RegisterPersonRow, categories: CareCategories, today: date) -> date | None:
    """The next day (from today) a visit falls due, or None (closed, ended, or a category no longer kept)."""
    from domain.registers import due_dates

    category = categories.by_key.get(row.category)
    if row.closed_at is not None or category is None:
        return None
    days = due_dates(row.start_date, row.end_date, category.interval_days, today,
                     max(today, row.start_date) + timedelta(days=category.interval_days))
    return days[0] if days else None


@app.command("import", help=_("导入台账文件：合格的行保留，不合格的逐行指明行号；不会只导入一半。"))
def import_cmd(
    file: Annotated[Path, typer.Argument(help=_("部门导出的文件：.csv（UTF-8、GBK、GB18030）或 .xlsx"))],
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_("只检查并报告，不存储"))] = False,
    actor: Annotated[str, typer.Option("--as", help=_("导入人（记入审计）"))] = "cli:admin",
    as_json: Annotated[bool, typer.Option("--json", help=_("以 JSON 输出报告"))] = False,
) -> None:
    """Import a register file: good rows kept, each bad row named with its line; nothing half-imported."""
    from domain.privacy import pseudonymiser
    from integrations.register_import import RegisterFileError, import_register, known_grids
    from integrations.settings import get_settings

    if not file.is_file():
        fail(_("找不到文件 {file}：请检查路径").format(file=file))
    settings = get_settings()
    categories = _categories()
    grids = known_grids(settings.regions)
    try:
        report = import_register(open_engine(), file, categories=categories, grids=grids, actor=actor,
                                 pseudonym=pseudonymiser(settings.pseudonym_key.get_secret_value()),
                                 now=datetime.now(UTC), dry_run=dry_run)
    except RegisterFileError as exc:
        fail(_("未导入：{reason}").format(reason=explain(exc)))
    if as_json:
        data = report.as_dict()  # the audit keeps the Chinese; the reader gets the language in force
        data["problems"] = [{**p, "message": worded(p["message"])} for p in data["problems"]]
        print_json(data)
        return
    _print_report(report)


def _print_report(report: Any) -> None:
    from domain.register_rows import REASONS

    console.print(_("文件 {file}（{format}，编码：{encoding}）").format(
        file=report.file, format=report.format, encoding=report.encoding), highlight=False)
    if report.dry_run:
        summary = _("试导入（未写入）：读取 {read} 行，保留 {kept} 行（新增 {added}，已在台账无变化 {unchanged}），"
                    "拒绝 {refused} 行。")
    else:
        summary = _("导入：读取 {read} 行，保留 {kept} 行（新增 {added}，已在台账无变化 {unchanged}），"
                    "拒绝 {refused} 行。")
    console.print(summary.format(read=report.read, kept=report.kept, added=len(report.added),
                                 unchanged=report.unchanged, refused=len(report.problems)), highlight=False)
    for reason, count in report.by_reason().items():
        lines = [p.line for p in report.problems if p.reason == reason]
        shown = _("、").join(map(str, lines[:12])) + ("…" if len(lines) > 12 else "")
        console.print(_("  {reason} {n} 行（第 {lines} 行）").format(reason=_(REASONS[reason]), n=count, lines=shown),
                      highlight=False)
    for problem in report.problems[:SHOWN_PROBLEMS]:
        console.print(f"  {translate(problem.said())}", highlight=False, soft_wrap=True)
    if len(report.problems) > SHOWN_PROBLEMS:
        console.print(_("  …另有 {n} 行，完整清单：--json").format(n=len(report.problems) - SHOWN_PROBLEMS),
                      highlight=False)
    if report.problems:
        console.print(_("被拒绝的行改正后可单独再导入；已导入的行再次导入不会重复。"), highlight=False)


@app.command("list", help=_("台账中的人员，按编号排列（除非给出 --all，只列未关闭的条目）。"))
def list_cmd(
    category: Annotated[str | None, typer.Option("--category", help=_("台账类别的键或中文名称"))] = None,
    grid: Annotated[str | None, typer.Option("--grid", help=_("地区代码：含其全部下级"))] = None,
    include_closed: Annotated[bool, typer.Option("--all", help=_("包括已关闭的条目"))] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help=_("最多列出的条数"))] = 100,
    as_json: Annotated[bool, typer.Option("--json", help=_("输出 JSON lines，供脚本使用"))] = False,
) -> None:
    """People in the register (open entries unless ``--all``), by id."""
    from rich.table import Table
    from sqlmodel import Session

    from domain.regions import RegionCodeError, validate_code
    from integrations.store.registers import list_entries

    categories = _categories()
    key = None
    if category is not None:
        found = categories.resolve(category)
        if found is None:
            fail(_("未知类别 {category}：可用 {known}").format(category=category, known=translate(categories.names())))
        key = found.key
    if grid is not None:
        try:
            validate_code(grid)
        except RegionCodeError:
            fail(_("区域代码 {grid} 不正确：须为 12 或 15 位行政区划代码").format(grid=grid))
    today = datetime.now(BEIJING).date()
    with Session(open_engine()) as session:
        rows = list_entries(session, category=key, grid=grid, include_closed=include_closed, limit=limit)
    if as_json:
        for r in rows:
            print_json(_row_dict(r, categories, today))
        return
    if not rows:
        console.print(_("台账中没有符合条件的人员。"))
        return
    table = Table(title=_("台账 {n} 人").format(n=len(rows)) + (
        _("（至多 {limit}）").format(limit=limit) if len(rows) == limit else ""))
    for name in ("id", _("人员（化名）"), _("类别"), _("网格"), _("开始"), _("结束"), _("下次走访"), _("状态")):
        table.add_column(name, overflow="fold")
    for r in rows:
        due = _next_due(r, categories, today)
        table.add_row(str(r.id), r.person, categories.title(r.category), r.grid, str(r.start_date),
                      str(r.end_date or "—"), str(due or "—"), _("已注销") if r.closed_at else _("在册"))
    console.print(table)


@app.command("show", help=_("一条台账记录（人员只显示假名）。"))
def show_cmd(
    entry_id: Annotated[int, typer.Argument(help=_("台账记录编号"))],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One register entry (the person by pseudonym only)."""
    from sqlmodel import Session

    from domain.regions import RegionDirectory
    from integrations.settings import get_settings
    from integrations.store.registers import RegisterPersonRow

    categories = _categories()
    today = datetime.now(BEIJING).date()
    with Session(open_engine()) as session:
        row = session.get(RegisterPersonRow, entry_id)
    if row is None:
        fail(_("台账中没有 #{id}：`fenghuo register list --all` 列出全部").format(id=entry_id))
    data = _row_dict(row, categories, today)
    if as_json:
        print_json(data)
        return
    place = RegionDirectory.load(get_settings().regions).path(row.grid)
    category = categories.by_key.get(row.category)
    every = _("每 {n} 天走访").format(n=category.interval_days) if category else _("类别已不在政策文件中，不再生成走访")
    state = _("已注销") if row.closed_at else _("在册")
    console.print(_("台账 #{id}（{state}）  人员 {person}（化名）").format(id=row.id, state=state, person=row.person),
                  highlight=False)
    console.print(_("  类别   {title}（{key}），{every}").format(
        title=categories.title(row.category), key=row.category, every=every), highlight=False)
    console.print(_("  网格   {grid}  {place}").format(grid=row.grid, place=place), highlight=False)
    console.print(_("  期间   {start} → {end}").format(start=row.start_date, end=row.end_date or _("未定")),
                  highlight=False)
    console.print(_("  下次走访 {day}").format(day=data["next_due"] or "—"), highlight=False)
    if row.closed_at:
        console.print(_("  注销   {time}：{reason}").format(time=beijing(row.closed_at), reason=row.closed_reason),
                      highlight=False)
    console.print(_("  来源   {file} 第 {line} 行；录入 {time}").format(
        file=row.source_file or "—", line=row.source_line or "—", time=beijing(row.created_at)), highlight=False)


@app.command("close", help=_("关闭一条台账记录：从现在起不再产生走访任务。记入审计；记录保留。"))
def close_cmd(
    entry_id: Annotated[int, typer.Argument(help=_("台账记录编号"))],
    reason: Annotated[str, typer.Option("--reason", help=_("注销原因（如 解除矫正、迁出、去世…）：记入审计"))],
    actor: Annotated[str, typer.Option("--as", help=_("关闭人（记入审计）"))] = "cli:admin",
) -> None:
    """Close an entry: no more visits fall due from now. Audited; the entry is kept."""
    from integrations.store.db import session_scope
    from integrations.store.registers import RegisterClosed, close_entry

    if not reason.strip():
        fail(_("--reason 不能为空：写明注销原因（如 解除矫正、迁出本市）"))
    try:
        with session_scope(open_engine()) as session:
            row = close_entry(session, entry_id, reason=reason.strip(), actor=actor, now=datetime.now(UTC))
            if row is None:
                fail(_("台账中没有 #{id}：`fenghuo register list --all` 列出全部").format(id=entry_id))
    except RegisterClosed as exc:
        fail(explain(exc))
    console.print(_("台账 #{id} 已注销：{reason}。此后不再生成走访到期记录。").format(
        id=entry_id, reason=reason.strip()), highlight=False)
