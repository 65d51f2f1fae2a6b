"""What ``fenghuo backtest`` shows a person: warnings by rule name and region name, in Beijing time.

The JSON lines (``--format jsonl``) are for scripts and keep codes and ISO timestamps; the tables here
are for a rule author reading them: the rule's title beside its id, the region's name beside its
code (from the region directory, ``FENGHUO_REGIONS``), times in Beijing time with the zone marked.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

from rich.table import Table

from domain.regions import RegionDirectory
from flows.console import console

BEIJING = timezone(timedelta(hours=8))
LEVEL_CN = {"blue": "蓝", "yellow": "黄", "orange": "橙", "red": "红"}
WIDE = 120
"""Columns from which the warnings are a table; a narrower terminal gets two lines a warning."""
CHANGE_CN = {"added": "新增", "removed": "消失", "changed": "变化"}


def beijing(iso: str) -> str:
    """``2026-01-05 14:00+08:00`` (Beijing time, the zone marked) for an ISO timestamp of any offset."""
    return f"{datetime.fromisoformat(iso).astimezone(BEIJING):%Y-%m-%d %H:%M}+08:00"


def _directory() -> RegionDirectory:
    from integrations.settings import get_settings

    try:
        return RegionDirectory.load(get_settings().regions)
    except (OSError, ValueError):  # a broken directory costs the names, not the backtest
        return RegionDirectory()


def _place(code: str, names: RegionDirectory) -> str:
    """``锦江区 春兴湾社区``: the names where the directory has them (the code is in the JSON lines), else
    the code."""
    from flows.cli_warnings import short_place

    return short_place(code, names)


def _rule_name(rule_id: str, titles: dict[str, str], sep: str = "\n") -> str:
    """The rule's title and its id (over it in a cell), or the id alone."""
    title = titles.get(rule_id, "")
    return f"{title}{sep}{rule_id}" if title else rule_id


def titles_of(*books: Any) -> dict[str, str]:
    """Rule id → title over the rulebooks given (the first book's title wins)."""
    out: dict[str, str] = {}
    for book in reversed(books):
        out.update({r.id: r.title for r in book.rules if r.title})
    return out


def _level(level: str | None) -> str:
    from flows.cli_warnings import LEVEL_STYLE

    if level is None:
        return "—"
    return f"[{LEVEL_STYLE.get(level, '')}]{LEVEL_CN.get(level, level)} {level}[/]"


def print_warnings(rows: list[dict[str, Any]], n_records: int, book: Any) -> None:
    """The warnings a backtest would open: a table on a wide terminal, two lines a warning otherwise."""
    names, titles = _directory(), titles_of(book)
    title = f"{n_records} 条记录产生 {len(rows)} 条预警 ({len(rows)} warnings from {n_records} records)"
    if console.width < WIDE:
        console.print(title, highlight=False)
        for r in rows:
            console.print(f"{_level(r['level'])}  {_rule_name(r['rule'], titles, ' ')} · "
                          f"{_place(r['region'], names)} · {r['occurrences']} 次", highlight=False)
            explanation = r["explanation"].splitlines()[0] if r["explanation"] else ""
            console.print(f"    {beijing(r['first_at'])} → {beijing(r['last_at'])}  {explanation}",
                          highlight=False, overflow="ellipsis", no_wrap=True)
        return
    table = Table(title=title)
    for col in ("规则 rule", "级别", "地区 region"):
        table.add_column(col)
    for col in ("首次（北京时间）", "最近（北京时间）"):
        table.add_column(col, no_wrap=True)
    table.add_column("次数", justify="right")
    table.add_column("说明 explanation", ratio=1)
    for r in rows:
        table.add_row(_rule_name(r["rule"], titles), _level(r["level"]), _place(r["region"], names),
                      beijing(r["first_at"]), beijing(r["last_at"]), str(r["occurrences"]),
                      r["explanation"].splitlines()[0] if r["explanation"] else "")
    console.print(table)


def print_comparison(diffs: list[dict[str, Any]], n_records: int, new: Any, old: Any) -> None:
    """The differences between two rulebooks' backtests, summed up by rule, then one row a warning."""
    names, titles = _directory(), titles_of(new, old)
    if not diffs:
        console.print(f"两套规则在 {n_records} 条记录上产生的预警完全相同 (no differences).", highlight=False)
        return
    by_rule: dict[str, Counter[str]] = {}
    for d in diffs:
        by_rule.setdefault(d["rule"], Counter())[d["change"]] += 1
    summary = Table(title=f"差异（按规则，{n_records} 条记录）differences by rule")
    for col in ("规则 rule", "新增 added", "消失 removed", "变化 changed"):
        summary.add_column(col)
    for rule_id, counts in by_rule.items():
        summary.add_row(_rule_name(rule_id, titles), str(counts["added"]), str(counts["removed"]),
                        str(counts["changed"]))
    console.print(summary)
    console.print("逐条差异 (each warning that differs)：", highlight=False)
    for d in diffs:
        old_side = f"{_level(d.get('old_level'))} ×{d['old_occurrences']}" if "old_level" in d else "（无）"
        new_side = f"{_level(d.get('level'))} ×{d['occurrences']}" if "level" in d else "（无）"
        console.print(f"  {CHANGE_CN[d['change']]}  {_rule_name(d['rule'], titles, ' ')} · "
                      f"{_place(d['region'], names)} · {old_side} → {new_side}", highlight=False)
