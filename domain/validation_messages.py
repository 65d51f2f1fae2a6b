"""pydantic's refusals in the project's words: one :class:`~domain.messages.Message` per error, naming the field.

pydantic's own texts ("'war' is not a valid DecisionKind", "Input should be a valid integer, unable to parse
string as an integer", with a link to its documentation) are English whatever the language and speak of
Python types. The boundary that shows a :class:`pydantic.ValidationError` to a user maps each error's
``type`` to a catalogue message here and translates it there (``integrations.i18n.translate``); a
validator's own refusal (a ``ValueError`` carrying a Message) is kept as it was raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from domain.messages import N_, Message, message_of

_BY_TYPE: dict[str, str] = {
    "missing": N_("缺少 {field}"),
    "extra_forbidden": N_("未知的字段 {field}"),
    "enum": N_("{field} 须为 {allowed} 之一；得到 {value}"),
    "literal_error": N_("{field} 须为 {allowed} 之一；得到 {value}"),
    "int_parsing": N_("{field} 须为整数，得到 {value}"),
    "int_type": N_("{field} 须为整数，得到 {value}"),
    "int_from_float": N_("{field} 须为整数，得到 {value}"),
    "float_parsing": N_("{field} 须为数值，得到 {value}"),
    "float_type": N_("{field} 须为数值，得到 {value}"),
    "bool_parsing": N_("{field} 须为 true 或 false，得到 {value}"),
    "bool_type": N_("{field} 须为 true 或 false，得到 {value}"),
    "string_type": N_("{field} 须为文本，得到 {value}"),
    "string_too_short": N_("{field} 不能为空"),
    "too_short": N_("{field} 至少须有 {min_length} 项"),
    "string_too_long": N_("{field} 最多 {max_length} 个字符"),
    "too_long": N_("{field} 最多 {max_length} 项"),
    "greater_than": N_("{field} 须大于 {gt}，得到 {value}"),
    "greater_than_equal": N_("{field} 须不小于 {ge}，得到 {value}"),
    "less_than": N_("{field} 须小于 {lt}，得到 {value}"),
    "less_than_equal": N_("{field} 须不大于 {le}，得到 {value}"),
    "date_parsing": N_("{field} 须为日期，如 2026-03-01；得到 {value}"),
    "date_from_datetime_parsing": N_("{field} 须为日期，如 2026-03-01；得到 {value}"),
    "date_type": N_("{field} 须为日期，如 2026-03-01；得到 {value}"),
    "datetime_parsing": N_("{field} 须为日期时间，如 2026-03-01T09:00+08:00；得到 {value}"),
    "datetime_from_date_parsing": N_("{field} 须为日期时间，如 2026-03-01T09:00+08:00；得到 {value}"),
    "datetime_type": N_("{field} 须为日期时间，如 2026-03-01T09:00+08:00；得到 {value}"),
    "timezone_aware": N_("{field} 须带时区，得到 {value}"),
    "list_type": N_("{field} 须为列表，得到 {value}"),
    "dict_type": N_("{field} 须为键值表，得到 {value}"),
    "model_type": N_("{field} 须为键值表，得到 {value}"),
    "model_attributes_type": N_("{field} 须为键值表，得到 {value}"),
}
_OTHER = N_("{field} 的取值无效：{value}")
_WHOLE = N_("整体")
"""The field named when an error belongs to the whole object (an empty location)."""
_LONGEST_VALUE = 80
"""Characters of the refused input quoted back (a pasted document is not echoed whole)."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _LONGEST_VALUE else text[:_LONGEST_VALUE] + "…"


def _bound(value: Any) -> Any:
    """A limit as people write it: ``1`` rather than pydantic's ``1.0`` for a whole number."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _located(error: Any, names: Mapping[str, str]) -> str:
    """The error's location as the user wrote it: the whole dotted location or its first part renamed by
    ``names`` (``residual_probability`` → ``--residual-probability``), else the location itself."""
    parts = [str(part) for part in error.get("loc", ())]
    loc = ".".join(parts)
    if loc in names:
        return names[loc]
    if parts and parts[0] in names:
        return ".".join([names[parts[0]], *parts[1:]])
    return loc


def error_message(error: Any, *, field: str | None = None, names: Mapping[str, str] | None = None) -> Message:
    """One pydantic error (an item of ``ValidationError.errors()``) as a Message naming its field: its
    location, the name ``names`` gives that location (a command-line option for a model field:
    ``{"affected_people": "--people"}``), or ``field`` when the caller names it better (``FENGHUO_LANG``
    rather than ``lang``)."""
    loc = field or _located(error, names or {})
    named: str = loc or Message(_WHOLE)
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, BaseException):  # a validator's own refusal: its Message (or its text) as raised
        said = message_of(cause) or str(cause)
        return Message(N_("{field}：{reason}"), field=named, reason=said) if loc else Message("{reason}", reason=said)
    template = _BY_TYPE.get(str(error.get("type")), _OTHER)
    params = {k: _bound(ctx.get(k, "")) for k in ("min_length", "max_length", "gt", "ge", "lt", "le")
              if "{" + k + "}" in template}
    if "{allowed}" in template:  # pydantic's "'a', 'b' or 'c'": the English "or" dropped
        params["allowed"] = str(ctx.get("expected", "")).replace(" or ", ", ")
    return Message(template, field=named, value=_shown(error.get("input")), **params)


def validation_messages(exc: ValidationError, *, names: Mapping[str, str] | None = None) -> list[Message]:
    """Every error of ``exc`` as a Message naming its field, or the name ``names`` gives it (the option a
    user typed rather than the model's field: see :func:`error_message`)."""
    return [error_message(e, names=names) for e in exc.errors()]
