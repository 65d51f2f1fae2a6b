"""A file-drop source: a folder a department exports CSV or JSON-lines files into.

Every file not yet taken is taken, whenever it arrives: files are tracked by name and content, not by
sort order, so ``2026-01-11.csv`` dropped after ``2026-01-12.csv`` was read is still read (untaken files
go in name order, which departments make time order). The cursor is a small JSON document holding, per
file still in the folder, its size, modification time, content hash and the rows read: a re-run continues
where the last committed page ended; rows appended to a file are picked up; a file rewritten with other
content is read again from its start (the store keeps unchanged records once, by content hash).

Encoding: declared per source (``encoding``), or ``auto`` (the default): UTF-8 with or without a BOM,
else what charset-normalizer detects among GB18030 (GBK's superset), UTF-16 and Big5. A file that cannot
be decoded is quarantined whole with its reason, and the source goes on with the next file. A page never
spans two files. A JSON line that does not parse (or nests past what ``json`` parses) is handed on as
text (the ingest quarantines it: ``unparseable``, ``too_deep``); a CSV
row is a dict of header → text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.messages import N_, Message
from integrations.sources.base import ConfiguredSource, Page, RawItem, SourceRequestError
from integrations.sources.mapping import SourceConfig

AUTO = "auto"
_DETECTED = ("gb18030", "utf_16", "big5")
"""What ``auto`` considers after UTF-8: the encodings Chinese departments' exports come in."""


@dataclass
class _Taken:
    """What the cursor knows of one file: seen as (size, mtime, sha) and how many rows were read."""

    size: int
    mtime: int
    sha: str
    rows: int
    done: bool


def _load_cursor(cursor: str | None, names: list[str], stat: dict[str, tuple[int, int]]) -> dict[str, _Taken]:
    """The taken files of a cursor; the form of earlier versions (``"<file>:<rows>"``, name order) is read
    as: every file before that one fully taken, that one taken up to its rows."""
    if not cursor:
        return {}
    if cursor.startswith("{"):
        try:
            data = json.loads(cursor)["files"]
            return {name: _Taken(*entry) for name, entry in data.items()}
        except (ValueError, KeyError, TypeError):
            raise SourceRequestError("filedrop", Message(N_("存储的游标 {cursor} 无法读取；请重置"),
                                                       cursor=repr(cursor[:80]))) from None
    current, _, rows = cursor.rpartition(":")
    try:
        done = int(rows)
    except ValueError:
        raise SourceRequestError("filedrop", Message(N_("存储的游标 {cursor} 不是“文件:行数”形式；请重置"),
                                                   cursor=repr(cursor))) from None
    taken = {n: _Taken(*stat[n], "", 0, True) for n in names if n < current}
    if current in stat:
        taken[current] = _Taken(*stat[current], "", done, False)
    return taken


def _dump_cursor(taken: dict[str, _Taken]) -> str:
    entries = {n: [t.size, t.mtime, t.sha, t.rows, t.done] for n, t in sorted(taken.items())}
    return json.dumps({"files": entries}, ensure_ascii=False, separators=(",", ":"))


def decode(data: bytes, encoding: str) -> tuple[str, str]:
    """``(text, encoding used)``; ``UnicodeDecodeError`` or ``LookupError`` when it cannot be decoded."""
    if encoding != AUTO:
        return data.decode(encoding), encoding
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        first = exc
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(_DETECTED)).best()
    if best is None:
        raise first
    return data.decode(best.encoding), best.encoding


class FileDropSource(ConfiguredSource):
    """Reads a folder of export files page by page (see the module docstring)."""

    def __init__(
        self,
        config: SourceConfig,
        folder: Path,
        *,
        file_format: str = "csv",
        pattern: str = "*",
        encoding: str = AUTO,
        delimiter: str = ",",
    ) -> None:
        self._config = config
        self.folder, self.file_format, self.pattern = folder, file_format, pattern
        self.encoding, self.delimiter = encoding, delimiter
        # The rows of the last file read, so consecutive pages do not decode it again: (name, sha, rows).
        self._read: tuple[str, str, list[RawItem]] | None = None

    def files(self) -> list[Path]:
        """The export files now in the folder, in name order."""
        if not self.folder.is_dir():
            raise SourceRequestError(self.name, Message(N_("投放文件夹 {folder} 不存在；请创建或修改"),
                                                        folder=self.folder))
        return sorted(p for p in self.folder.glob(self.pattern) if p.is_file() and not p.name.startswith("."))

    def _rows(self, text: str) -> list[RawItem]:
        fh = io.StringIO(text, newline="")
        if self.file_format == "csv":
            return list(csv.DictReader(fh, delimiter=self.delimiter))
        out: list[RawItem] = []
        for line in fh:
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except (ValueError, RecursionError):  # cut, corrupt or nested past the stack: quarantined as text
                out.append(line.rstrip("\r\n"))
                continue
            out.append(item if isinstance(item, dict) else line.rstrip("\r\n"))
        return out

    def fetch(self, cursor: str | None, *, limit: int) -> Page:
        """Up to ``limit`` rows of the first file with rows not yet taken; an empty page with
        ``has_more=False`` when every file is taken."""
        paths = self.files()
        stat = {p.name: (s.st_size, s.st_mtime_ns) for p in paths for s in (p.stat(),)}
        try:
            taken = _load_cursor(cursor, [p.name for p in paths], stat)
        except SourceRequestError as exc:
            raise SourceRequestError(self.name, exc.message) from None
        taken = {n: t for n, t in taken.items() if n in stat}  # files gone from the folder are forgotten
        for path in paths:
            entry = taken.get(path.name)
            size, mtime = stat[path.name]
            if entry is not None and entry.done and (entry.size, entry.mtime) == (size, mtime):
                continue
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()[:32]
            start = 0
            if entry is not None and entry.sha in ("", sha):
                if entry.done:  # touched, not changed
                    taken[path.name] = _Taken(size, mtime, sha, entry.rows, True)
                    continue
                start = entry.rows
            elif entry is not None and size > entry.size:
                start = entry.rows  # rows appended to a file already read
            page = self._page(path, data, sha, start, limit, taken, (size, mtime))
            if page is not None:
                return page
        return Page([], _dump_cursor(taken) if taken else cursor, f"{self.folder}: nothing new", has_more=False)

    def _page(self, path: Path, data: bytes, sha: str, start: int, limit: int, taken: dict[str, _Taken],
              seen: tuple[int, int]) -> Page | None:
        name = path.name
        try:
            if self._read is None or self._read[:2] != (name, sha):
                text, _ = decode(data, self.encoding)
                self._read = (name, sha, self._rows(text))
        except (UnicodeDecodeError, LookupError) as exc:
            taken[name] = _Taken(*seen, sha, 0, True)
            whole = data.decode("utf-8", "backslashreplace")
            return Page([whole], _dump_cursor(taken), f"{name}:whole file", has_more=True,
                        error=f"file {name} cannot be decoded as {self.encoding} ({exc}); fix its encoding "
                              f"(sources.yaml filedrop.encoding) and drop it again under a new name")
        rows = self._read[2]
        items: list[Any] = rows[start:start + limit]
        end = start + len(items)
        taken[name] = _Taken(*seen, sha, end, end >= len(rows))
        if not items:
            return None
        return Page(items, _dump_cursor(taken), f"{name}:rows {start + 1}-{end}", has_more=True)

    def close(self) -> None:
        """Forget the file last read."""
        self._read = None

    def __enter__(self) -> FileDropSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_names(cursor: str | None) -> Iterator[str]:
    """The names of the files a cursor holds as taken (for ``sources status`` and tests)."""
    if cursor and cursor.startswith("{"):
        yield from json.loads(cursor).get("files", {})
