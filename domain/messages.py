"""Messages a user reads that are made below the presentation layer (domain refusals, store errors).

domain/ and the store import no gettext (the store may not even read settings), yet their refusals reach
officials. A :class:`Message` *is* the Chinese text — a ``str``, so audits, logs and ``str(exc)`` keep
working unchanged — and also carries its template (the catalogue's msgid, marked with :func:`N_`) and
parameters, so the layer that shows it renders it in the language in force
(``integrations.i18n.translate``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def N_(message: str) -> str:  # the gettext_noop name babel extracts (babel.cfg scans domain/ for it)
    """Mark ``message`` for the catalogue without translating it (domain/ knows no language)."""
    return message


class Message(str):
    """A Chinese message with its template and parameters: ``Message(N_("没有任务 {id}"), id=3)``."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, /, **params: Any) -> Message:
        """The Chinese text of ``template`` filled with ``params`` (which may be Messages themselves)."""
        text = super().__new__(cls, template.format(**params) if params else template)
        text.template, text.params = template, params
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its text, template and parameters, rebuilt without formatting again: a sharded
        backtest ships every warning's explanation (a tree of messages) from its shard's process, and the
        default ``str`` subclass path pickled each message four times slower."""
        return (_rebuilt, (str(self), self.template, self.params))


def _rebuilt(text: str, template: str, params: dict[str, Any]) -> Message:
    """A :class:`Message` as :meth:`Message.__reduce__` wrote it."""
    out = str.__new__(Message, text)
    out.template, out.params = template, params
    return out


def message_of(exc: BaseException) -> Message | None:
    """The :class:`Message` an exception was raised with, if any (first such argument)."""
    return next((a for a in exc.args if isinstance(a, Message)), None)


def joined(items: Iterable[str], separator: str) -> Message:
    """``items`` one after the other with ``separator`` (a Message such as ``Message(N_("；"))``) between:
    a Message whose template is only placeholders, so each item and the separator are translated when it
    is shown (the template itself is in no catalogue and passes through unchanged)."""
    listed = list(items)
    text = str.__new__(Message, separator.join(listed))  # the same text Message() would format, made directly
    shape = _SHAPES.get(len(listed))
    if shape is None:
        names = tuple(f"i{n}" for n in range(len(listed)))
        shape = ("{sep}".join(f"{{{name}}}" for name in names), names)
        if len(listed) < 64:  # the lists of reasons are short: their shapes are few
            _SHAPES[len(listed)] = shape
    text.template = shape[0]
    text.params = {"sep": separator, **dict(zip(shape[1], listed, strict=True))}
    return text


_SHAPES: dict[int, tuple[str, tuple[str, ...]]] = {}
"""Per number of items: :func:`joined`'s template and parameter names (every opening warning's
explanation joins its reasons)."""


def reworded(text: str, table: Iterable[tuple[str, str]]) -> str:
    """``text`` (a library's English message) as the first entry of ``table`` whose start it begins with
    says it — ``(start, N_("中文"))`` pairs — made a Message; a text no entry knows, unchanged."""
    for start, reason in table:
        if text.startswith(start):
            return Message(reason)
    return text
