"""Source positions of parsed YAML, and the error type that carries a line.

The loader builds :class:`LineMap` and :class:`LineList` (plain ``dict`` / ``list`` subclasses) that
remember the line of the node and of each key or item. Parsers read them with :func:`line_of` and
:func:`key_line`; on hand-built input (plain dicts) these fall back to a default line.
"""

from __future__ import annotations

from typing import Any


class LanguageError(ValueError):
    """A rule-language error at a known line (1-based; 0 when unknown)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class LineMap(dict[Any, Any]):
    """A YAML mapping that remembers where it and each of its keys start."""

    line: int = 0
    key_lines: dict[Any, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines = {}


class LineList(list[Any]):
    """A YAML sequence that remembers where it and each of its items start."""

    line: int = 0
    item_lines: list[int]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines = []


def line_of(node: Any, default: int = 0) -> int:
    """The line where a parsed node starts, or ``default`` when it was not loaded from YAML."""
    line = getattr(node, "line", 0)
    return line if isinstance(line, int) and line > 0 else default


def key_line(node: Any, key: Any, default: int = 0) -> int:
    """The line of ``key`` in a mapping, or of item ``key`` in a sequence; ``default`` if unknown."""
    if isinstance(node, LineMap):
        return node.key_lines.get(key, line_of(node, default))
    if isinstance(node, LineList) and isinstance(key, int) and 0 <= key < len(node.item_lines):
        return node.item_lines[key]
    return line_of(node, default)


def plain(node: Any) -> Any:
    """A deep copy as plain ``dict``/``list`` (no positions): for hashing and for test records."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node
