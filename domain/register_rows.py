"""Rows of a department's register export: which column is which, and what each row says or why it is refused.

A file's header is matched to the register's fields, in Chinese or English (:data:`COLUMNS`); a missing
required column refuses the whole file (:class:`HeaderError`). Each row is then checked on its own: the ID
number is pseudonymised at once (the raw value goes no further than this function), the category must be
one of the local policy's, the dates readable and in order, the grid a known 15-digit grid code (or its
exact name), and the same person may not be in one category twice in the file. A refused row is named by
its line with a reason; the others are kept. Pure: whether a person is already in the register is the
store's question (``integrations.register_import``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from domain.messages import N_, Message, joined
from domain.privacy import normalise_identifier
from domain.registers import CareCategories, parse_register_date

COLUMNS: dict[str, tuple[str, ...]] = {
    "id_number": ("身份证号", "身份证号码", "证件号码", "公民身份号码", "证件号", "id_number", "id_card", "id"),
    "category": ("类别", "人员类别", "台账类别", "category"),
    "grid": ("网格", "网格代码", "所属网格", "网格编码", "grid", "grid_code"),
    "start_date": ("开始日期", "起始日期", "纳入日期", "start_date", "start"),
    "end_date": ("结束日期", "截止日期", "终止日期", "end_date", "end"),
}
"""Each register field and the column headers accepted for it (compared without spaces, case-blind)."""
REQUIRED = ("id_number", "category", "grid", "start_date")
LABELS = {"id_number": N_("身份证号"), "category": N_("类别"), "grid": N_("网格"), "start_date": N_("开始日期"),
          "end_date": N_("结束日期")}

REASONS = {
    "missing_value": N_("缺少必填项"),
    "bad_id": N_("证件号码有误"),
    "unknown_category": N_("未知类别"),
    "bad_date": N_("日期有误"),
    "unknown_grid": N_("未知网格"),
    "duplicate": N_("文件内重复"),
    "already_registered": N_("已在台账中"),
    "closed_earlier": N_("已注销"),
    "bad_encoding": N_("编码有误"),
}
"""Why a row is refused: reason code → Chinese label (the summary counts refusals by these; translated
where shown)."""


class HeaderError(ValueError):
    """The file's header lacks a required column (or names one twice): the whole file is refused."""


@dataclass(frozen=True)
class RegisterEntry:
    """A kept row: who (pseudonym), in which category and grid, from when to when, and its line."""

    line: int
    person: str
    category: str
    grid: str
    start_date: date
    end_date: date | None


@dataclass(frozen=True)
class RowProblem:
    """A refused row: its line, the reason code (:data:`REASONS`) and a Chinese message (no ID number)."""

    line: int
    reason: str
    message: str

    def __str__(self) -> str:
        return self.said()

    def said(self) -> Message:
        """``第 3 行：…`` as a Message (translated where it is shown)."""
        return Message(N_("第 {line} 行：{message}"), line=self.line, message=self.message)


def _norm(header: object) -> str:
    text = str(header or "").replace("\ufeff", "").replace("*", "").replace("＊", "")
    return "".join(text.split()).lower()


_LOOKUP = {_norm(name): field for field, names in COLUMNS.items() for name in names}


def map_header(header: Sequence[object]) -> dict[str, int]:
    """Field → column index of ``header``; :class:`HeaderError` naming every missing or doubled column.
    Columns the register does not use are ignored."""
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        field = _LOOKUP.get(_norm(name))
        if field is None:
            continue
        if field in found:
            raise HeaderError(Message(N_("列「{column}」出现两次（第 {first} 列和第 {second} 列），请只保留一列"),
                                      column=Message(LABELS[field]), first=found[field] + 1, second=index + 1))
        found[field] = index
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        wanted = joined((Message(N_("{column}（可写 {names} 或 {english}）"), column=Message(LABELS[f]),
                                 names=" / ".join(COLUMNS[f][:3]), english=COLUMNS[f][-2]) for f in missing),
                        Message(N_("；")))
        raise HeaderError(Message(N_("缺少必需的列：{columns}。整个文件未导入；请在第一行补上列名后重试"),
                                  columns=wanted))
    return found


def _cell(row: Sequence[object], index: int | None) -> object:
    if index is None or index >= len(row):
        return None
    value = row[index]
    return value.strip() if isinstance(value, str) else value


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's number cell: 510104001001001.0
    return "" if value is None else str(value).strip()


def _grid(value: str, grids: Mapping[str, str], by_name: Mapping[str, str]) -> str | None:
    code = value.translate(_FULLWIDTH)
    if code in grids:
        return code
    return by_name.get(value)


_FULLWIDTH = {0xFF10 + i: 0x30 + i for i in range(10)}


def check_rows(rows: Iterable[tuple[int, Sequence[object]]], columns: Mapping[str, int], *,
               categories: CareCategories, grids: Mapping[str, str],
               pseudonym: Callable[[str], str]) -> tuple[list[RegisterEntry], list[RowProblem]]:
    """Check each ``(line, cells)`` row; return the kept entries and the refused rows' problems.

    ``grids`` maps the known 15-digit grid codes to their names; ``pseudonym`` turns an ID number into
    its pseudonym. Rows with every cell empty are skipped (spreadsheets end with them)."""
    kept: list[RegisterEntry] = []
    problems: list[RowProblem] = []
    by_name = {name: code for code, name in grids.items()}
    seen: dict[tuple[str, str], int] = {}
    for line, row in rows:
        if all(_text(v) == "" for v in row):
            continue
        entry = _check(line, row, columns, categories, grids, by_name, pseudonym)
        if isinstance(entry, RowProblem):
            problems.append(entry)
            continue
        first = seen.setdefault((entry.person, entry.category), line)
        if first != line:
            problems.append(RowProblem(line, "duplicate", Message(
                N_("与第 {first} 行是同一人、同一类别（{category}），本行未导入"), first=first,
                category=categories.title(entry.category))))
            continue
        kept.append(entry)
    return kept, problems


def _check(line: int, row: Sequence[object], columns: Mapping[str, int], categories: CareCategories,
           grids: Mapping[str, str], by_name: Mapping[str, str],
           pseudonym: Callable[[str], str]) -> RegisterEntry | RowProblem:
    values = {field: _cell(row, columns.get(field)) for field in COLUMNS}
    empty = [Message(LABELS[f]) for f in REQUIRED if _text(values[f]) == ""]
    if empty:
        return RowProblem(line, "missing_value", Message(N_("{columns}为空"), columns=joined(empty, Message(N_("、")))))
    raw_id = normalise_identifier(_text(values["id_number"]))
    if not (raw_id.isascii() and raw_id.isalnum() and 6 <= len(raw_id) <= 30):
        # The value itself is never repeated in a message: it may be someone's ID number, mistyped.
        return RowProblem(line, "bad_id", Message(N_("身份证号格式不对（{n} 个字符，应为字母和数字）"), n=len(raw_id)))
    name = _text(values["category"])
    category = categories.resolve(name)
    if category is None:
        return RowProblem(line, "unknown_category", Message(N_("未知类别「{name}」；可用：{known}"), name=name[:30],
                                                            known=categories.names()))
    grid = _grid(_text(values["grid"]), grids, by_name)
    if grid is None:
        return RowProblem(line, "unknown_grid", Message(
            N_("网格「{grid}」不在区域名录中（须为名录中的 15 位网格代码或网格全称）"),
            grid=_text(values["grid"])[:30]))
    dates: dict[str, date | None] = {}
    for field in ("start_date", "end_date"):
        try:
            dates[field] = parse_register_date(values[field])
        except ValueError:
            return RowProblem(line, "bad_date", Message(
                N_("{column}「{value}」无法识别（请写 2026-01-05 或 2026年1月5日）"), column=Message(LABELS[field]),
                value=_text(values[field])[:30]))
    start, end = dates["start_date"], dates["end_date"]
    assert start is not None  # required, and not empty (checked above)
    if end is not None and end < start:
        return RowProblem(line, "bad_date", Message(N_("结束日期 {end} 早于开始日期 {start}"), end=end, start=start))
    return RegisterEntry(line, pseudonym(raw_id), category.key, grid, start, end)
