"""Summary templates: ``str.format`` restricted to plain field names.

``"{people} 人集体访：{subject}"`` is allowed, as is a format spec without nested fields
(``{amount:.0f}``). Attribute or index access (``{x.y}``, ``{x[0]}``), conversions (``{x!r}``) and
positional fields (``{}``, ``{0}``) are refused at load time: a template is data and must not reach into
objects. :func:`render` formats a checked template and never raises.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from domain.messages import N_, Message

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A summary template outside the allowed form."""


def template_fields(template: str) -> list[str]:
    """The field names a template uses, in order; :class:`TemplateError` if it is not plain."""
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise TemplateError(Message(N_("模板格式有误：{reason}（花括号本身请写成 {{{{ 和 }}}}）"),
                                    reason=str(exc))) from None
    names: list[str] = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if conversion is not None:
            raise TemplateError(Message(N_("不允许在 {{{name}!{conversion}}} 中使用转换 '!{conversion}'"), name=name,
                                        conversion=conversion))
        if not name or name.isdigit():
            raise TemplateError(Message(N_("不允许位置字段（{} 或 {0}）；请写字段名")))
        if not _NAME.match(name):
            raise TemplateError(Message(N_("'{{{name}}}'：只允许普通字段名（不能取属性或下标）"), name=name))
        if spec and ("{" in spec or "}" in spec):
            raise TemplateError(Message(N_("'{{{name}:{spec}}}'：格式说明中不允许嵌套字段"), name=name, spec=spec))
        names.append(name)
    return names


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def render(template: str, values: Mapping[str, Any]) -> str:
    """Format a template over ``values``; a missing name shows as ``?`` and a bad spec as the raw value.

    Only the names :func:`template_fields` allows are looked up, so no attribute of a value is reached."""
    try:
        names = template_fields(template)
    except TemplateError:
        return template
    safe = _Missing({n: values[n] for n in names if n in values})
    try:
        return template.format_map(safe)
    except (ValueError, TypeError):  # e.g. {amount:.0f} over a string: show the values plainly
        plain = _Missing({n: str(v) for n, v in safe.items()})
        out = []
        for literal, name, _spec, _conv in _FORMATTER.parse(template):
            out.append(literal)
            if name is not None:
                out.append(plain[name])
        return "".join(out)
