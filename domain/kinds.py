"""Record kinds as data (``rules/kinds.yaml``): field names, their types, fixed values and bounds.

The kinds file is read by the ingest (to validate records) and by the rule compiler (to reject rules
naming fields a kind does not have). It is data, so a deployment adds a department's kind without Python.

The door's checks live here too: text with a NUL or a lone surrogate is refused (``bad_text``: no
database stores the first everywhere, no encoder writes the second), and every value has bounds
(``out_of_range``): declared ``min``/``max``/``max_length`` or the defaults below, so 10^30 people or a
5 MB subject never reaches a rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from domain.messages import N_, Message

FIELD_TYPES = ("string", "int", "number", "timestamp", "bool", "list")
COMMON_FIELDS = ("kind", "source", "id", "at", "region")
"""Fields every record has, whatever its kind."""


DEFAULT_MAX_LENGTH = 20_000
"""Characters a text field may hold where the kinds file declares no ``max_length``."""
DEFAULT_INT_BOUND = 2**53
"""Whole numbers beyond ±2^53 are refused where no bounds are declared (JSON's safe integers)."""
DEFAULT_NUMBER_BOUND = 1e15
"""Numbers beyond ±10^15 are refused where no bounds are declared."""
LATEST_YEAR = 2200
"""Timestamps in record fields lie in the years 1900 to this one."""
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class KindsError(ValueError):
    """The kinds file is malformed."""


class DoorError(ValueError):
    """A value refused at the door; ``code`` is the quarantine code (``bad_text`` or ``out_of_range``)."""

    code = "invalid_field"


class BadText(DoorError):
    """Text holding a NUL character or a lone surrogate."""

    code = "bad_text"


class OutOfRange(DoorError):
    """A value outside its field's bounds."""

    code = "out_of_range"


def _shown(value: Any) -> str:
    # A refused value is named, but a 309-digit number or a long text is cut short.
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def has_bad_text(text: str) -> bool:
    """True if ``text`` holds a NUL or a lone surrogate (UTF-16 half), which the store cannot keep."""
    return _BAD_TEXT.search(text) is not None


def check_text(name: str, text: str) -> str:
    """``text`` unchanged, or :class:`BadText` naming ``name``."""
    if _BAD_TEXT.search(text) is not None:
        raise BadText(Message(N_("{field} 含有 NUL 字符或无效字符（孤立代理项）"), field=name))
    return text


@dataclass(frozen=True)
class FieldSpec:
    """One declared field: its type and, when fixed, its allowed values."""

    name: str
    type: str
    values: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    """Chinese names of fixed values (``labels: {land: 征地}``), shown through the message catalogue."""

    def bounds(self) -> tuple[float, float]:
        """The (lowest, highest) value a number field takes: declared, else the defaults."""
        bound = DEFAULT_INT_BOUND if self.type == "int" else DEFAULT_NUMBER_BOUND
        return (self.min if self.min is not None else -bound, self.max if self.max is not None else bound)

    def _check(self, out: Any) -> None:
        # Bounds and clean text, after the type conversion (``coerce``).
        t = self.type
        if t == "int" or t == "number":
            lo, hi = self.bounds()
            if not (lo <= out <= hi):  # NaN fails both comparisons
                raise OutOfRange(Message(N_("{field} 须在 {lo} 与 {hi} 之间，得到 {value}"),
                                         field=self.name, lo=f"{lo:g}", hi=f"{hi:g}",
                                         value=_shown(out)))
        elif t == "string":
            limit = self.max_length if self.max_length is not None else DEFAULT_MAX_LENGTH
            if len(out) > limit:
                raise OutOfRange(Message(N_("{field} 长 {length} 个字符；最多保留 {limit} 个"),
                                         field=self.name, length=len(out),
                                         limit=limit))
            check_text(self.name, out)
        elif t == "timestamp" and not (1900 <= out.year <= LATEST_YEAR):
            raise OutOfRange(Message(N_("{field} 须在 1900 与 {latest} 年之间，得到 {value}"),
                                     field=self.name, latest=LATEST_YEAR,
                                     value=out.isoformat()))
        elif t == "list":
            if len(out) > 1000:
                raise OutOfRange(Message(N_("{field} 有 {n} 项；最多保留 1000 项"), field=self.name, n=len(out)))
            for item in out:
                if isinstance(item, str):
                    check_text(self.name, item)

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this field's type, or raise ``ValueError`` saying why not."""
        if value is None:
            return None
        out: Any
        if self.type == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(Message(N_("{field} 须为整数，得到 {value}"), field=self.name, value=repr(value)))
            try:
                out = int(value)
            except (TypeError, ValueError):  # int("many") or int([]) says nothing about which field; say it
                raise ValueError(Message(N_("{field} 须为整数，得到 {value}"),
                                         field=self.name, value=repr(value))) from None
        elif self.type == "number":
            if isinstance(value, bool):
                raise ValueError(Message(N_("{field} 须为数值，得到 {value}"), field=self.name, value=repr(value)))
            try:
                out = float(value)
            except (TypeError, ValueError):  # a list or an object sent for a number
                raise ValueError(Message(N_("{field} 须为数值，得到 {value}"),
                                         field=self.name, value=repr(value))) from None
            except OverflowError:  # int(10**400) does not fit a float
                raise OutOfRange(Message(N_("{field} 过大，得到 {value}"),
                                         field=self.name, value=repr(value))) from None
            if not math.isfinite(out):
                raise OutOfRange(Message(N_("{field} 须为有限数值，得到 {value}"), field=self.name, value=repr(value)))
        elif self.type == "bool":
            if not isinstance(value, bool):
                raise ValueError(Message(N_("{field} 须为 true 或 false，得到 {value}"),
                                         field=self.name, value=repr(value)))
            out = value
        elif self.type == "list":
            if not isinstance(value, list):
                raise ValueError(Message(N_("{field} 须为列表，得到 {value}"), field=self.name, value=repr(value)))
            out = value
        elif self.type == "timestamp":
            out = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
            if out.tzinfo is None:
                raise ValueError(Message(N_("{field} 须带时区，得到 {value}"), field=self.name, value=repr(value)))
        else:
            if isinstance(value, (dict, list)):
                raise ValueError(Message(N_("{field} 须为文本，得到 {value}"), field=self.name, value=repr(value)))
            out = str(value)
        if self.values is not None and out not in self.values:
            allowed = ", ".join(map(str, self.values))
            raise ValueError(Message(N_("{field} 须为 {allowed} 之一；得到 {value}"), field=self.name, allowed=allowed,
                                     value=repr(out)))
        self._check(out)
        return out


def _limits(kind: Any, fname: Any, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The declared ``min``, ``max`` and ``max_length`` of one field, checked to be numbers."""
    out: dict[str, Any] = {}
    for key in ("min", "max", "max_length"):
        if key in spec:
            value = spec[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise KindsError(Message(N_("记录类型 {kind} 的字段 {field}：{key} 须为数值，得到 {value}"),
                                         kind=repr(kind), field=repr(fname), key=key, value=repr(value)))
            out[key] = int(value) if key == "max_length" else value
    return out


def _labels(kind: Any, fname: Any, spec: Mapping[str, Any], values: tuple[Any, ...] | None) -> dict[str, Any]:
    """The declared ``labels`` of one field's fixed values, checked to name only those values."""
    raw = spec.get("labels")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or values is None:
        raise KindsError(Message(N_("记录类型 {kind} 的字段 {field}：labels 须把字段的取值对应到名称"), kind=repr(kind),
                                 field=repr(fname)))
    unknown = sorted(str(k) for k in raw if k not in values)
    if unknown:
        raise KindsError(Message(N_("记录类型 {kind} 的字段 {field}：labels 中有未知的取值 {values}"), kind=repr(kind),
                                 field=repr(fname), values=", ".join(unknown)))
    return {"labels": {str(k): str(v) for k, v in raw.items()}}


@dataclass(frozen=True)
class KindSpec:
    """A record kind: name, title and fields."""

    name: str
    title: str
    fields: Mapping[str, FieldSpec]


@dataclass
class RecordKinds:
    """All declared kinds, plus which fields are personal identifiers."""

    kinds: dict[str, KindSpec] = field(default_factory=dict)
    personal: frozenset[str] = frozenset({"person"})

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RecordKinds:
        """Build from the parsed YAML shape ``{kinds: {name: {title, fields}}, personal: [...]}``."""
        raw = data.get("kinds")
        if not isinstance(raw, Mapping):
            raise KindsError(Message(N_("记录类型文件需要顶层的 'kinds' 映射")))
        kinds: dict[str, KindSpec] = {}
        for name, spec in raw.items():
            if not isinstance(spec, Mapping) or not isinstance(spec.get("fields", {}), Mapping):
                raise KindsError(Message(N_("记录类型 {kind} 需要 'fields' 映射"), kind=repr(name)))
            fields: dict[str, FieldSpec] = {}
            for fname, ftype in (spec.get("fields") or {}).items():
                values = None
                limits: dict[str, Any] = {}
                if isinstance(ftype, Mapping):
                    values = tuple(ftype["values"]) if "values" in ftype else None
                    limits = _limits(name, fname, ftype) | _labels(name, fname, ftype, values)
                    ftype = ftype.get("type", "string")
                if ftype not in FIELD_TYPES:
                    raise KindsError(Message(N_("记录类型 {kind} 的字段 {field}：未知的类型 {type}"), kind=repr(name),
                                             field=repr(fname), type=repr(ftype)))
                if fname in COMMON_FIELDS:
                    raise KindsError(Message(N_("记录类型 {kind} 的字段 {field} 是每条记录都有的公共字段"),
                                             kind=repr(name), field=repr(fname)))
                fields[str(fname)] = FieldSpec(str(fname), str(ftype), values, **limits)
            kinds[str(name)] = KindSpec(str(name), str(spec.get("title", name)), fields)
        personal = frozenset(str(p) for p in data.get("personal", ["person"]))
        return cls(kinds, personal)

    @classmethod
    def load(cls, path: Path) -> RecordKinds:
        """Read a kinds YAML file."""
        return cls.from_mapping(yaml.safe_load(path.read_text(encoding="utf-8")) or {})

    def get(self, kind: str) -> KindSpec:
        """The spec of ``kind``; ``KeyError`` naming the known kinds if there is none."""
        try:
            return self.kinds[kind]
        except KeyError:
            raise KeyError(Message(N_("未知的记录类型 {kind}；已知：{known}"), kind=repr(kind),
                                   known=", ".join(sorted(self.kinds)))) from None

    def coerce(self, kind: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and convert a record's own fields; ``ValueError`` names the first bad field."""
        spec = self.get(kind)
        out: dict[str, Any] = {}
        for name, value in attributes.items():
            fs = spec.fields.get(name)
            if fs is None:
                raise ValueError(Message(N_("{kind} 记录没有字段 {field}"), kind=kind, field=repr(name)))
            if value is not None:
                out[name] = fs.coerce(value)
        return out
