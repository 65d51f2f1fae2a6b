"""A file-drop source: a folder a department exports CSV or JSON-lines files into.

Files are read in name order (departments name exports by date, so name order is time order); the
cursor is ``"<file name>:<rows read>"``, so a re-run continues where the last committed page ended, and
rows appended to the last file are picked up. A page never spans two files. A JSON line that does not
parse is handed on as text (the ingest quarantines it); a CSV row is a dict of header → text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from integrations.sources.base import ConfiguredSource, Page, RawItem, SourceRequestError
from integrations.sources.mapping import SourceConfig


def parse_cursor(cursor: str | None) -> tuple[str, int]:
    """``(file name, rows read)`` from a cursor (``("", 0)`` before the first file)."""
    if not cursor:
        return "", 0
    name, _, rows = cursor.rpartition(":")
    return name, int(rows)


class FileDropSource(ConfiguredSource):
    """Reads a folder of export files page by page (see the module docstring)."""

    def __init__(
        self,
        config: SourceConfig,
        folder: Path,
        *,
        file_format: str = "csv",
        pattern: str = "*",
        encoding: str = "utf-8-sig",
        delimiter: str = ",",
    ) -> None:
        self._config = config
        self.folder, self.file_format, self.pattern = folder, file_format, pattern
        self.encoding, self.delimiter = encoding, delimiter
        # The open file of the last page, so consecutive pages do not re-read the file from its start.
        self._open: tuple[str, int, IO[str], Iterator[RawItem]] | None = None

    def files(self) -> list[Path]:
        """The export files now in the folder, in name order."""
        if not self.folder.is_dir():
            raise SourceRequestError(self.name, f"file-drop folder {self.folder} does not exist; create or fix it")
        return sorted(p for p in self.folder.glob(self.pattern) if p.is_file() and not p.name.startswith("."))

    def _rows(self, fh: IO[str]) -> Iterator[RawItem]:
        if self.file_format == "csv":
            yield from csv.DictReader(fh, delimiter=self.delimiter)
            return
        for line in fh:
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                yield line.rstrip("\n")
                continue
            yield item if isinstance(item, dict) else line.rstrip("\n")

    def _iterator(self, path: Path, start: int) -> Iterator[RawItem]:
        if self._open is not None and self._open[0] == path.name and self._open[1] == start:
            return self._open[3]
        self._close_open()
        # Kept open across pages (closed by close()), hence no with-block; newline="" is csv's rule.
        fh = open(path, encoding=self.encoding, newline="")  # noqa: SIM115
        rows = self._rows(fh)
        for _ in range(start):  # skip what earlier runs read (a new run, or a page that was not committed)
            if next(rows, None) is None:
                break
        self._open = (path.name, start, fh, rows)
        return rows

    def fetch(self, cursor: str | None, *, limit: int) -> Page:
        """Up to ``limit`` rows after ``cursor``; an empty page with ``has_more=False`` at the end."""
        try:
            current, done = parse_cursor(cursor)
        except ValueError:
            raise SourceRequestError(self.name, f"stored cursor {cursor!r} is not 'file:rows'; reset it") from None
        for path in self.files():
            if path.name < current:
                continue
            start = done if path.name == current else 0
            rows = self._iterator(path, start)
            items: list[Any] = []
            for row in rows:
                items.append(row)
                if len(items) >= limit:
                    break
            if items:
                end = start + len(items)
                assert self._open is not None
                self._open = (path.name, end, self._open[2], rows)
                return Page(items, f"{path.name}:{end}", f"{path.name}:rows {start + 1}-{end}", has_more=True)
        return Page([], cursor, f"{self.folder}: nothing new", has_more=False)

    def _close_open(self) -> None:
        if self._open is not None:
            self._open[2].close()
            self._open = None

    def close(self) -> None:
        """Close the file being read."""
        self._close_open()

    def __enter__(self) -> FileDropSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
