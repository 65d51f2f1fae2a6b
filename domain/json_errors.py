"""Why a text is not JSON, in words an official reads: Python's ``json`` says it in English
("Expecting ',' delimiter"), and a rule author's records file or a department's pushed page is fixed by
someone who reads Chinese. Used wherever a JSON error reaches a person (``fenghuo backtest``, the push
intake)."""

from __future__ import annotations

from json import JSONDecodeError

from domain.messages import N_, reworded

__all__ = ["json_reason"]

_REASONS = (
    ("Expecting value", N_("缺少值，或值不是 JSON（文本须加双引号）")),
    ("Expecting property name enclosed in double quotes", N_("键名须用双引号括起（或多了逗号）")),
    ("Expecting ':' delimiter", N_("键名之后缺少冒号")),
    ("Expecting ',' delimiter", N_("缺少逗号")),
    ("Unterminated string", N_("字符串缺少结尾的双引号")),
    ("Invalid control character", N_("字符串中有未转义的控制字符（如换行）")),
    ("Invalid \\uXXXX escape", N_("无效的 \\uXXXX 转义")),
    ("Invalid \\escape", N_("无效的转义（反斜杠之后的字符）")),
    ("Extra data", N_("一个 JSON 值之后还有多余内容（每行只能写一个对象）")),
    ("Unexpected UTF-8 BOM", N_("开头有 UTF-8 BOM 标记")),
)
"""``json``'s messages (their start: some end with the offending character) and what each means."""


def json_reason(exc: JSONDecodeError) -> str:
    """What ``exc`` says went wrong, in Chinese (a :class:`~domain.messages.Message`, translated where it is
    shown); a message this table does not know stays as ``json`` wrote it."""
    return reworded(exc.msg, _REASONS)
