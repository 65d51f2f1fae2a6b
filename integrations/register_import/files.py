"""Reading a register export: CSV in whatever encoding a department's software wrote, or an Excel workbook.

CSV: UTF-8 (with or without a BOM), GBK or GB18030 are recognised and named. A file that decodes whole in
one of them is read in it; a file with a few lines in another encoding (rows pasted from another system)
is read in the encoding most of its lines are in, and each line that is not is a row refused with its
line number (``bad_encoding``). A file that is mostly undecodable, empty, or not CSV/XLSX is refused whole
(:class:`RegisterFileError`). Line numbers are the file's (the header is line 1); a quoted cell spanning
lines counts the line its row starts on.

Excel: the first sheet of an ``.xlsx`` workbook (openpyxl, values not formulas); line numbers are the
sheet's row numbers.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from domain.messages import N_, Message

_ENCODINGS = (("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030"))
"""Tried in this order; GBK before GB18030 so a plain GBK file is named as such (GB18030 is its superset)."""
MAX_BYTES = 50 * 1024 * 1024


class RegisterFileError(ValueError):
    """A file refused whole; the message (Chinese) says why and what to do."""


@dataclass
class Table:
    """A file's header and data rows as ``(line, cells)``, with how it was read."""

    format: str
    """``CSV`` or ``Excel``."""
    encoding: str
    """``UTF-8``, ``UTF-8 BOM``, ``GBK``, ``GB18030``; for Excel ``xlsx``."""
    header: list[object]
    rows: list[tuple[int, Sequence[object]]]
    undecodable: list[int] = field(default_factory=list)
    """Lines (CSV) not in the file's encoding: each is refused as ``bad_encoding``."""


def read_table(path: Path) -> Table:
    """Read ``path`` (``.csv``/``.txt`` or ``.xlsx``); :class:`RegisterFileError` if it cannot be used."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise RegisterFileError(Message(N_("{name} 是旧版 Excel（.xls）文件："
                                           "请在 Excel 中另存为 .xlsx 或 CSV 后再导入"),
                                        name=path.name))
    try:
        if path.stat().st_size > MAX_BYTES:
            raise RegisterFileError(Message(N_("{name} 超过 50 MB：请按街道或类别拆分后分批导入"), name=path.name))
        data = path.read_bytes()
    except OSError as exc:
        raise RegisterFileError(Message(N_("无法读取 {path}：{reason}"), path=str(path),
                                        reason=exc.strerror or str(exc))) from None
    if suffix == ".xlsx" or data[:4] == b"PK\x03\x04":
        return _read_xlsx(path)
    return _read_csv(path.name, data)


def _decode_lines(lines: list[bytes], encoding: str) -> list[str | None]:
    out: list[str | None] = []
    for raw in lines:
        try:
            out.append(raw.decode(encoding))
        except UnicodeDecodeError:
            out.append(None)
    return out


def decode_csv(name: str, data: bytes) -> tuple[str, list[str | None]]:
    """``(encoding label, lines)`` of a CSV file's bytes; a line not in that encoding is None."""
    label_suffix = ""
    if data.startswith(codecs.BOM_UTF8):
        data, label_suffix = data[len(codecs.BOM_UTF8):], " BOM"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RegisterFileError(Message(N_("{name} 是 UTF-16 编码：请另存为 UTF-8 或 GBK 的 CSV 后再导入"), name=name))
    lines = data.split(b"\n")
    best: tuple[int, str, list[str | None]] | None = None
    for codec, label in _ENCODINGS:
        if label_suffix and codec != "utf-8":
            break  # a UTF-8 BOM settles it
        decoded = _decode_lines(lines, codec)
        bad = sum(1 for line in decoded if line is None)
        if bad == 0:
            return label + label_suffix, decoded
        if best is None or bad < best[0]:
            best = (bad, label + label_suffix, decoded)
    assert best is not None
    bad, label, decoded = best
    if decoded[0] is None or bad * 2 > len([raw for raw in lines if raw.strip()]):
        raise RegisterFileError(Message(N_("{name} 的编码无法识别（不是 UTF-8、GBK 或 GB18030）：请在 Excel 或 WPS 中"
                                           "另存为「CSV UTF-8」后再导入"), name=name))
    return label, decoded


def _read_csv(name: str, data: bytes) -> Table:
    label, decoded = decode_csv(name, data)
    undecodable = [i + 1 for i, line in enumerate(decoded) if line is None]
    text = "\n".join("" if line is None else line for line in decoded)
    if not text.strip():
        raise RegisterFileError(Message(N_("{name} 是空文件："
                                           "第一行应为列名（身份证号、类别、网格、开始日期、结束日期）"),
                                        name=name))
    delimiter = _delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[object] | None = None
    rows: list[tuple[int, Sequence[object]]] = []
    line = 1
    try:
        for cells in reader:
            if header is None:
                header = list(cells)
            elif cells and line not in undecodable:
                rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise RegisterFileError(Message(N_("{name} 第 {line} 行不是有效的 CSV（{error}）：请检查引号是否成对"),
                                        name=name, line=reader.line_num, error=str(exc))) from None
    return Table("CSV", label, header or [], rows, undecodable)


def _delimiter(first_line: str) -> str:
    """The header's separator: comma unless the header has tabs, semicolons or bars and no commas."""
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, KeyError) for a damaged file
        raise RegisterFileError(Message(N_("{name} 不是可读的 Excel（.xlsx）文件（{error}）：请用 Excel "
                                           "或 WPS 打开后另存为 .xlsx，或导出为 CSV"), name=path.name,
                                        error=type(exc).__name__)) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise RegisterFileError(Message(N_("{name} 没有工作表"), name=path.name))
        header: list[object] | None = None
        rows: list[tuple[int, Sequence[object]]] = []
        for line, cells in enumerate(sheet.iter_rows(values_only=True), 1):
            if header is None:
                header = list(cells)
            else:
                rows.append((line, list(cells)))
    finally:
        book.close()
    if not header or all(c is None for c in header):
        raise RegisterFileError(Message(N_("{name} 的第一个工作表为空："
                                           "第一行应为列名（身份证号、类别、网格、开始日期）"),
                                        name=path.name))
    return Table("Excel", "xlsx", header, rows)
