"""Backtest: evaluate a stream of records with no store and no notifications.

``backtest(rulebook, records)`` feeds the records (in batches, each sorted by ``(at, source, id)``; give
them in time order across batches) and returns one dict per warning: ``rule``, ``level``,
``fingerprint``, ``region``, ``first_at``, ``last_at``, ``occurrences``, ``explanation``.
:func:`parse_jsonl` reads JSON lines shaped like test records.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from domain.json_errors import json_reason
from domain.kinds import RecordKinds
from domain.messages import N_, Message
from domain.records import Record
from domain.warnings import Level, WarningState
from rules.engine.evaluate import Evaluator
from rules.engine.gc_pause import gc_paused
from rules.run.fast_records import FastLines
from rules.run.testing import record_from_dict

__all__ = ["JsonlLineError", "backtest", "parse_jsonl", "reference_line", "warning_row"]

BATCH = 50_000
_PARSE_BLOCK = 4096
_LEVEL_TEXT = {level: level.value for level in Level}
"""A level's text, looked up: ``Level.value`` goes through the enum's descriptor, slow in a year's output."""


class JsonlLineError(ValueError):
    """A bad line of a JSON-lines record file: ``line`` is its 1-based number, ``reason`` what is wrong."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def parse_jsonl(lines: Iterable[str], kinds: RecordKinds | None = None) -> Iterator[Record]:
    """Records from JSON lines (``kind``, ``at``, ``region``, other keys attributes; ``source`` and
    ``id`` default to ``test`` and the line number). Blank lines are skipped; a bad line raises
    ``JsonlLineError`` naming its number, with a one-line reason (Chinese first, no library's URL).

    Each line goes the fast way (:mod:`rules.run.fast_records`) when that can vouch for it, else the
    reference way (:func:`reference_line`): the same records, the same errors."""
    fast = FastLines(kinds).record
    numbered = enumerate(lines, 1)
    while block := list(islice(numbered, _PARSE_BLOCK)):
        out: list[Record] = []
        error: JsonlLineError | None = None
        # Records make no reference cycles: a collection every 700 new objects would walk every record
        # read so far (half the time of reading a large file). Paused for a block, never across a yield.
        with gc_paused():
            try:
                for number, line in block:
                    record = fast(line, number)
                    if record is None:
                        record = reference_line(line, number, kinds)
                        if record is None:
                            continue
                    out.append(record)
            except JsonlLineError as exc:
                error = exc
        yield from out
        if error is not None:
            raise error


def reference_line(line: str, number: int, kinds: RecordKinds | None = None) -> Record | None:
    """The record of one JSON line the plain way (``json``, pydantic), ``None`` for a blank line;
    ``JsonlLineError`` for a bad one. The reference :mod:`rules.run.fast_records` is held equal to."""
    if not line.strip():
        return None
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise JsonlLineError(number, Message(N_("不是合法的 JSON（第 {column} 列）：{reason}"), column=exc.colno,
                                             reason=json_reason(exc))) from None
    if not isinstance(data, dict):
        one_object = Message(N_('每行应是一个 JSON 对象，如 {"kind": "petition", "at": …, "region": …}'))
        raise JsonlLineError(number, one_object)
    try:
        return record_from_dict(data, number, kinds)
    except (ValueError, TypeError) as exc:
        raise JsonlLineError(number, Message(N_("记录无效：{reason}"), reason=str(exc))) from None


def warning_row(w: WarningState) -> dict[str, Any]:
    """The backtest output shape of a warning."""
    return {"rule": w.rule, "level": _LEVEL_TEXT[w.level], "fingerprint": w.fingerprint, "region": w.region,
            "first_at": w.first_at.isoformat(), "last_at": w.last_at.isoformat(),
            "occurrences": w.occurrences, "explanation": w.explanation}


def backtest(rulebook: Any, records: Iterable[Record], engine: str = "durable",
             progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Evaluate ``records`` over ``rulebook`` and return every warning, oldest first. ``progress`` is told
    how many records each batch held, once it is evaluated."""
    evaluator = Evaluator(rulebook, engine, updates=False)  # only the warnings at the end are read
    try:
        it = iter(records)
        # for the whole run, not batch by batch, and the rows too (tens of thousands of new objects while
        # every window is still alive): see rules.engine.gc_pause
        with gc_paused():
            while batch := list(islice(it, BATCH)):
                evaluator.feed(batch)
                if progress is not None:
                    progress(len(batch))
            return [warning_row(w) for w in evaluator.warnings()]
    finally:
        evaluator.close()
