"""``fenghuo rules check|test`` and ``fenghuo backtest``: for rule authors. Never starts Prefect.

Language 1.1 here: ``rules check --strict`` (warnings from :mod:`rules.language.lint`), ``rules test
--coverage/--require-coverage`` (:mod:`rules.run.coverage`), ``backtest --compare OLD``
(:mod:`rules.run.compare`; the human output in :mod:`flows.cli_backtest_view`). Every bad input is one
line (:func:`flows.console.fail`), Chinese first, ``FILE:LINE`` where there is one; never a traceback.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer

from domain.beijing import BEIJING
from flows.console import err_console, fail, located
from integrations.i18n import _, translate
from integrations.settings import get_settings
from rules.engine.gc_pause import gc_paused

app = typer.Typer(help=_("检查并测试规则文件（不启动 Prefect，不用存储）。"), no_args_is_help=True)

PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help=_("规则文件或文件夹（其中的全部 *.yaml）；默认：配置的规则库")),
]


def _existing(paths: list[Path] | None) -> list[Path] | None:
    for p in paths or []:
        if not p.exists():
            fail(_("{path}：文件或文件夹不存在").format(path=p))
    return paths or None


@app.command("check", help=_(
        "检查规则文件：每个错误一行 FILE:LINE: 说明，每个警告一行 FILE:LINE: 警告：…；有错误时（给出 "
        "--strict 时有警告也算）退出码为 1。"))
def check_cmd(
    paths: PathsArg = None,
    strict: Annotated[bool, typer.Option("--strict", help=_("警告按错误处理（有任何警告即退出码 1）"))] = False,
) -> None:
    """Validate rule files: one `FILE:LINE: message` line per error or `FILE:LINE: warning: …` per
    warning; exit 1 on an error (or, with --strict, on a warning)."""
    from rules.language.check import check_paths

    result = check_paths(_existing(paths), rulebook=get_settings().rulebook, strict=strict)
    for problem in sorted(result.errors + result.warnings):
        typer.echo(located(problem))
    err_console.print(_check_summary(result), style="green" if result.ok else "red", highlight=False)
    raise typer.Exit(0 if result.ok else 1)


def _check_summary(result: Any) -> str:
    """The closing line of ``rules check``: files, rules, errors (and warnings), in the language in force."""
    line = _("{files} 个文件，{rules} 条规则，{errors} 个错误").format(
        files=result.files, rules=result.rules, errors=len(result.errors))
    if result.warnings or result.strict:
        line += _("，{warnings} 个警告").format(warnings=len(result.warnings))
    return line + (_("（--strict：警告按错误处理）") if result.strict else "")


@app.command("test", help=_("运行规则文件中的测试；最后一行为通过与失败的个数；有失败时退出码为 1。"))
def test_cmd(
    paths: PathsArg = None,
    engine: Annotated[str, typer.Option(help=_("研判引擎：durable（生产用）或 reference（参照实现）"))] = "durable",
    show_coverage: Annotated[bool, typer.Option(
        "--coverage", help=_("逐条规则列出有测试覆盖的预警等级"))] = False,
    require_coverage: Annotated[bool, typer.Option(
        "--require-coverage", help=_("有规则在任何等级都没有测试覆盖时失败（退出码 1）"))] = False,
) -> None:
    """Run the tests inside rule files; closes with `N passed, M failed`; exit 1 on a failure."""
    from rules.language.loader import load_rulebook
    from rules.run.cli_support import print_coverage, print_tests

    _check_engine(engine)
    book = load_rulebook(_existing(paths), rulebook=get_settings().rulebook)
    for error in book.errors:
        typer.echo(located(error))
    if book.failed:  # else "0 passed, 0 failed" below would read as if those files had no tests
        err_console.print(_("{n} 个文件有错误，未加载，其中的测试没有运行：{files}").format(
            n=len(book.failed), files=_("、").join(book.failed)), style="red", highlight=False, soft_wrap=True)
    uncovered = print_coverage(book, out=sys.stdout, listing=show_coverage, required=require_coverage, tr=translate)
    code = print_tests(book, out=sys.stdout, engine=engine, tr=translate)
    raise typer.Exit(1 if code or book.errors or (require_coverage and uncovered) else 0)


def _since(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(_("{text} 不是日期；请写成 2026-01-01 或 2026-01-01T08:00:00+08:00").format(text=repr(text)))
    if value.tzinfo is None:
        # A bare date or time means Asia/Shanghai, where the records' days are counted.
        value = datetime.combine(value.date(), value.time() or time(0), tzinfo=BEIJING)
    return value


def backtest_cmd(
    rules: Annotated[Path | None, typer.Option("--rules", help=_("规则文件或文件夹；默认为规则库"))] = None,
    records: Annotated[Path | None, typer.Option("--records", help=_("JSON lines 文件，格式同测试记录"))] = None,
    since: Annotated[str | None, typer.Option(help=_("代替 --records：自该日期起已存储的记录"))] = None,
    until: Annotated[str | None, typer.Option(help=_("与 --since 同用：截至该日期（不含）"))] = None,
    fmt: Annotated[str, typer.Option("--format", help=_("输出格式：table 或 jsonl"))] = "table",
    engine: Annotated[str, typer.Option(help=_("研判引擎：durable 或 reference"))] = "durable",
    workers: Annotated[int | None, typer.Option(
        help=_("与 --since 同用：把回测分给这么多个本地进程（结果相同）"))] = None,
    compare: Annotated[Path | None, typer.Option(
        "--compare", help=_("较早版本的规则文件或文件夹：只列出与之不同的预警"))] = None,
    limit: Annotated[int, typer.Option(help=_(
        "表格最多逐条列出的预警数（--compare 时为差异数；0 为全部；更多时先按规则汇总）"))] = 50,
) -> None:
    """Evaluate records with no store writes and no notifications; print the warnings they would open
    (with --compare OLD: the warnings that differ between OLD and --rules)."""
    if fmt not in ("table", "jsonl"):
        fail(_("--format {fmt} 不可用；请用 table 或 jsonl").format(fmt=repr(fmt)))
    _check_engine(engine)
    if (records is None) == (since is None):
        fail(_("请给出 --records FILE.jsonl 或 --since DATE 之一"))
    if workers is not None and since is None:
        fail(_("--workers 只用于回测存储中的记录：请给出 --since DATE"))
    if workers is not None and workers < 1:
        fail(_("--workers {n}：至少需要 1 个进程").format(n=workers))
    if limit < 0:
        fail(_("--limit {limit}：请给出 0（全部）或正数").format(limit=limit))
    book = _loaded([rules] if rules else None)
    old = _loaded([compare]) if compare is not None else None
    start = _since(since) if since is not None else None
    end = _since(until) if until else None
    # No cyclic collection while backtesting: records, windows and warnings make no cycles, and with it on,
    # sorting the records and listing the warnings started collections that walked every record read (an
    # eighth of the CPU of a 300,000-record backtest). The records and rows are _backtest's own, so they
    # are gone before collection resumes (else its first collection walks them all). Not around the
    # sharded run: its forked workers would inherit the pause.
    with gc_paused() if workers is None else _null():
        _backtest(book, old, records, (start, end), workers, engine, fmt, limit)


def _backtest(book: Any, old: Any, records: Path | None, span: tuple[datetime | None, datetime | None],
              workers: int | None, engine: str, fmt: str, limit: int) -> None:
    """The body of ``backtest_cmd`` once its options are checked."""
    from rules.run.compare import compare_rows

    start, end = span
    if workers is not None:
        from flows.cli_backtest import sharded_rows

        rows, n = sharded_rows(book, start or _EPOCH, end, workers, engine)
        old_rows = sharded_rows(old, start or _EPOCH, end, workers, engine)[0] if old is not None else []
    else:
        from flows.backtest_input import backtest_file, backtest_stored, check_file
        from flows.backtest_progress import backtest_progress

        labels = (_("研判（--rules）"), _("研判（--compare）")) if old else (None, None)
        if records is not None:
            check_file(records)
        with backtest_progress(err_console) as bars:
            if records is not None:
                rows, old_rows, n = backtest_file(records, book, old, engine, bars, labels)
            else:
                rows, n = backtest_stored(book, (start or _EPOCH, end), engine, bars, labels[0])
                old_rows = backtest_stored(old, (start or _EPOCH, end), engine, bars, labels[1])[0] if old else []
    if old is None:
        _print_rows(rows, n, fmt, book, limit)
        return
    diffs = compare_rows(rows, old_rows)
    if fmt == "jsonl":
        for diff in diffs:
            typer.echo(json.dumps(diff, ensure_ascii=False))
    else:
        from flows.cli_backtest_view import print_comparison

        print_comparison(diffs, n, book, old, limit)


_EPOCH = datetime(1970, 1, 1, tzinfo=BEIJING)


def _check_engine(engine: str) -> None:
    from typing import get_args

    from rules.engine.evaluate import EngineName

    known = get_args(EngineName)
    if engine not in known:
        fail(_("--engine {engine} 不存在；可选：{known}").format(engine=repr(engine), known=_("、").join(known)))


def _loaded(paths: list[Path] | None) -> Any:
    """The rulebook at ``paths``; when a file fails to load, its ``FILE:LINE`` errors and exit 1: a
    backtest without some of the rules would read as "nothing would fire"."""
    from rules.language.loader import load_rulebook

    book = load_rulebook(_existing(paths), rulebook=get_settings().rulebook)
    if book.errors:
        for error in book.errors:
            err_console.print(located(error), highlight=False, soft_wrap=True)
        fail(_("规则文件有 {n} 处错误，未运行回测；修正后再试（fenghuo rules check）").format(n=len(book.errors)))
    return book


def _print_rows(rows: list[dict[str, Any]], n_records: int, fmt: str, book: Any, limit: int) -> None:
    if fmt == "jsonl":
        if rows:  # one write, not one a warning: a year's backtest prints tens of thousands
            typer.echo("\n".join(json.dumps(row, ensure_ascii=False) for row in rows))
        return
    from flows.cli_backtest_view import print_warnings

    print_warnings(rows, n_records, book, limit)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
