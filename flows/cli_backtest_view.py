"""What ``fenghuo backtest`` shows a person: warnings by rule name and region name, in Beijing time.

The JSON lines (``--format jsonl``) are for scripts and keep codes and ISO timestamps; the tables here
are for a rule author reading them: the rule's title beside its id, the region's name beside its
code (from the region directory, ``FENGHUO_REGIONS``), times in Beijing time with the zone marked.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from rich.table import Table

from domain.beijing import BEIJING
from domain.regions import RegionDirectory
from flows.console import console
from integrations.i18n import N_, _, translate
from integrations.labels import label
from rules.engine.explain import EXPLANATION, rule_label

LEVELS = ("blue", "yellow", "orange", "red")
WIDE = 120
"""Columns from which the warnings are a table; a narrower terminal gets two lines a warning."""
SHOWN = 50
"""Warnings listed one by one by default (``fenghuo backtest --limit``); more are summed up by rule first."""
CHANGE_CN = {"added": N_("新增"), "removed": N_("消失"), "changed": N_("变化")}


def beijing(iso: str) -> str:
    """``2026-01-05 14:00+08:00`` (Beijing time, the zone marked) for an ISO timestamp of any offset."""
    return f"{datetime.fromisoformat(iso).astimezone(BEIJING):%Y-%m-%d %H:%M}+08:00"


def _first_line(explanation: str) -> str:
    """The first line of a warning's explanation, in the language in force (it is a Message when the
    backtest ran in this process; text when it came back from a shard)."""
    return translate(explanation).split("\n", 1)[0] if explanation else ""


def _why(explanation: str, rule: str, titles: dict[str, str]) -> str:
    """What made a warning fire, without the ``规则 id（title）：`` that opens its explanation (the line above
    names the rule): on a narrow terminal the line is cut, and the name took all of it. Read off the text,
    translated or not, so a sharded run's rows (text) show what a single run's (messages) show."""
    line = _first_line(explanation)
    name = rule_label(rule, titles.get(rule, ""))
    for template in (_(EXPLANATION), EXPLANATION):
        head = template.split("{why}", 1)[0].format(rule=name)
        if line.startswith(head):
            return line[len(head):]
    return line


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
    return f"[{LEVEL_STYLE.get(level, '')}]{label('level', level)}[/]"


def print_warnings(rows: list[dict[str, Any]], n_records: int, book: Any, limit: int = SHOWN) -> None:
    """The warnings a backtest would open: a table on a wide terminal, two lines a warning otherwise.

    More than ``limit`` warnings (0: no limit) are first summed up by rule, then only the oldest ``limit``
    are listed, with a line saying how to get them all: a backtest of a year opens tens of thousands, more
    than a person reads, and laying them out one by one took longer than evaluating them."""
    names, titles = _directory(), titles_of(book)
    title = _("{records} 条记录产生 {warnings} 条预警").format(records=n_records, warnings=len(rows))
    shown = rows[:limit] if 0 < limit < len(rows) else rows
    if len(shown) < len(rows):
        console.print(title, highlight=False)
        _print_by_rule(rows, titles)
        title = _("最早的 {shown} 条预警").format(shown=len(shown))
    if console.width < WIDE:
        console.print(title, highlight=False)
        for r in shown:
            console.print(_("{level}  {rule} · {place} · {n} 次").format(
                level=_level(r["level"]), rule=_rule_name(r["rule"], titles, " "), place=_place(r["region"], names),
                n=r["occurrences"]), highlight=False)
            why = _why(r["explanation"], r["rule"], titles)
            console.print(f"    {beijing(r['first_at'])} → {beijing(r['last_at'])}  {why}",
                          highlight=False, overflow="ellipsis", no_wrap=True)
    else:
        table = Table(title=title)
        for col in (_("规则"), _("级别"), _("地区")):
            table.add_column(col)
        for col in (_("首次（北京时间）"), _("最近（北京时间）")):
            table.add_column(col, no_wrap=True)
        table.add_column(_("次数"), justify="right")
        table.add_column(_("说明"), ratio=1)
        for r in shown:
            table.add_row(_rule_name(r["rule"], titles), _level(r["level"]), _place(r["region"], names),
                          beijing(r["first_at"]), beijing(r["last_at"]), str(r["occurrences"]),
                          _first_line(r["explanation"]))
        console.print(table)
    if len(shown) < len(rows):
        console.print(_("另有 {more} 条未列出：--limit 0 列出全部，--format jsonl 输出全部供脚本读取").format(
            more=len(rows) - len(shown)), highlight=False)


def _print_by_rule(rows: list[dict[str, Any]], titles: dict[str, str]) -> None:
    """One line a rule: its warnings by level, their occurrences, the first and the latest firing
    (Beijing time), in the order the rules first fired."""
    by_rule: dict[str, _RuleSum] = {}
    for r in rows:
        # the rows may mix offsets (the store's): times compare parsed, not as text
        first, last = datetime.fromisoformat(r["first_at"]), datetime.fromisoformat(r["last_at"])
        s = by_rule.get(r["rule"])
        if s is None:
            s = by_rule[r["rule"]] = _RuleSum(first, last)
        s.levels[r["level"]] += 1
        s.occurrences += r["occurrences"]
        s.first, s.last = min(s.first, first), max(s.last, last)
    lines = [(_rule_name(rule_id, titles, " "), str(s.levels.total()),
              " ".join(f"{_level(lv)} {s.levels[lv]}" for lv in LEVELS if s.levels[lv]), str(s.occurrences),
              beijing(s.first.isoformat()), beijing(s.last.isoformat())) for rule_id, s in by_rule.items()]
    if console.width < WIDE:
        console.print(_("按规则汇总"), highlight=False)
        for name, n, levels, occurrences, since, latest in lines:
            console.print(_("{name}：{n} 条（{levels}），{occurrences} 次，{first} → {last}").format(
                name=name, n=n, levels=levels, occurrences=occurrences, first=since, last=latest), highlight=False)
        return
    table = Table(title=_("按规则汇总"))
    for col in (_("规则"), _("预警数"), _("按级别"), _("次数"), _("首次（北京时间）"), _("最近（北京时间）")):
        table.add_column(col, no_wrap=col != _("规则"))
    for line in lines:
        table.add_row(*line)
    console.print(table)


class _RuleSum:
    """What the summary by rule adds up for one rule."""

    __slots__ = ("first", "last", "levels", "occurrences")

    def __init__(self, first: datetime, last: datetime) -> None:
        self.first, self.last = first, last
        self.levels: Counter[str] = Counter()
        self.occurrences = 0


def print_comparison(diffs: list[dict[str, Any]], n_records: int, new: Any, old: Any, limit: int = SHOWN) -> None:
    """The differences between two rulebooks' backtests, summed up by rule, then one row a warning: at most
    ``limit`` (0: all), warnings added or gone first, then those whose level changed, then those that only
    fired more or less often — a threshold moved over a year changes thousands, and the summary above them
    must not scroll away."""
    names, titles = _directory(), titles_of(new, old)
    if not diffs:
        console.print(_("两套规则在 {n} 条记录上产生的预警完全相同。").format(n=n_records), highlight=False)
        return
    by_rule: dict[str, Counter[str]] = {}
    for d in diffs:
        by_rule.setdefault(d["rule"], Counter())[d["change"]] += 1
    summary = Table(title=_("差异（按规则，{n} 条记录）").format(n=n_records))
    for col in (_("规则"), _("新增"), _("消失"), _("变化")):
        summary.add_column(col)
    for rule_id, counts in by_rule.items():
        summary.add_row(_rule_name(rule_id, titles), str(counts["added"]), str(counts["removed"]),
                        str(counts["changed"]))
    console.print(summary)
    ordered = sorted(diffs, key=_weight)
    shown = ordered[:limit] if 0 < limit < len(ordered) else ordered
    console.print(_("逐条差异：") if len(shown) == len(diffs) else
                  _("逐条差异（最重要的 {shown} 条）：").format(shown=len(shown)), highlight=False)
    for d in shown:
        old_side = f"{_level(d.get('old_level'))} ×{d['old_occurrences']}" if "old_level" in d else _("（无）")
        new_side = f"{_level(d.get('level'))} ×{d['occurrences']}" if "level" in d else _("（无）")
        console.print(f"  {_(CHANGE_CN[d['change']])}  {_rule_name(d['rule'], titles, ' ')} · "
                      f"{_place(d['region'], names)} · {old_side} → {new_side}", highlight=False)
    if len(shown) < len(diffs):
        console.print(_("另有 {more} 条未列出：--limit 0 列出全部，--format jsonl 输出全部供脚本读取").format(
            more=len(diffs) - len(shown)), highlight=False)


def _weight(d: dict[str, Any]) -> int:
    """How much a difference matters to a rule author, most first: a warning added or gone, a level changed,
    then only the number of firings."""
    if d["change"] != "changed":
        return 0
    return 1 if d.get("level") != d.get("old_level") else 2
