"""From a department's item to a :class:`~domain.records.Record`, or a :class:`Rejection` saying why not.

Each department names things its own way; a :class:`SourceConfig` maps its field names to the record
kind's (``occurred_at`` → ``at``, ``region_code`` → ``region``, ``id_card`` → ``person``…). Only mapped
fields are kept, so a raw name a department sends along is never stored; personal fields are
pseudonymised and free-text fields masked here, at the border. :func:`map_item` never raises: every
problem with an item is a Rejection, to be quarantined with its reason (its payload made safe to keep by
:mod:`integrations.sources.payload`).
"""

from __future__ import annotations

import json
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from domain.kinds import FieldSpec, RecordKinds, has_bad_text
from domain.messages import N_, Message, message_of
from domain.nesting import MAX_DEPTH, too_deep
from domain.privacy import mask_value, pseudonymise_value
from domain.records import Record
from domain.regions import RegionCodeError, validate_code
from domain.validation_messages import error_message
from integrations.sources.payload import safe_raw, storable

__all__ = ["CLOCK_SKEW", "EARLIEST_YEAR", "TOO_DEEP", "Rejection", "SourceConfig", "map_item", "safe_raw", "storable"]

CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future an item's time may lie (departments' clocks drift) before it is refused."""


@dataclass(frozen=True)
class SourceConfig:
    """How one department's items become records of one kind."""

    name: str
    """Fenghuo's name for the source (``Record.source``)."""
    kind: str
    path: str
    """URL path of its endpoint, relative to the base URL."""
    fields: Mapping[str, str]
    """Department field → record field, for the kind's own fields. Several may feed one (first wins)."""
    id_field: str = "id"
    at_field: str = "occurred_at"
    region_field: str = "region_code"
    required: tuple[str, ...] = ()
    """Record fields an item must have: their absence means schema drift, not a sparse record."""
    free_text: tuple[str, ...] = ()
    """Record fields of free text, masked (ID-card and phone numbers typed into them)."""
    personal_raw: tuple[str, ...] = ("id_card", "name", "phone")
    """Department fields holding personal data, pseudonymised even in quarantined payloads."""
    constants: Mapping[str, Any] = field(default_factory=dict)
    """Record field → fixed value, for fields the department does not send (an item's value wins)."""
    value_maps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Record field → {department value → ours}, e.g. category codes; unlisted values pass unchanged."""
    at_format: str | None = None
    """``strptime`` format of ``at_field``; ``None``: ISO 8601."""
    timezone: str | None = None
    """IANA zone of timestamps sent without an offset; ``None``: such timestamps are refused."""
    region_fields: tuple[str, ...] = ()
    """Department fields whose values, joined by ``|``, are looked up in ``region_lookup``."""
    region_lookup: Mapping[str, str] | None = None
    """Lookup key → region code (e.g. NYC community board + zip); ``None``: the field holds the code."""


@dataclass(frozen=True)
class Rejection:
    """An item that is not a valid record: why, its id if it had one, and its payload made safe to keep."""

    reason: str
    source_id: str | None
    raw: str
    code: str = "invalid"
    """Short kind of problem, for counting: ``unparseable``, ``missing_field``, ``bad_timestamp``,
    ``naive_timestamp``, ``future_timestamp``, ``invalid_region``, ``unknown_region``, ``invalid_field``…"""


TOO_DEEP = Message(N_("too_deep: 嵌套超过 {depth} 层，不是部门的记录；请核对对方系统的导出"), depth=MAX_DEPTH)
"""The reason of an item nested past :data:`domain.nesting.MAX_DEPTH` (or past what ``json`` parses)."""


def _read_fields(config: SourceConfig) -> tuple[str, ...]:
    """The department fields :func:`map_item` reads (the others are dropped unread, however deep)."""
    return (config.id_field, config.at_field, config.region_field, *config.region_fields, *config.fields)


class _ItemError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


EARLIEST_YEAR = 1990
"""Records whose time lies before this year are refused (out_of_range): a default or a typo, not an event."""


def _parse_at(value: Any, name: str, now: datetime, config: SourceConfig) -> datetime:
    fmt = config.at_format
    what = Message(N_("形如 {format} 的时间"), format=repr(fmt)) if fmt else Message(N_("ISO 8601 时间"))
    if not isinstance(value, str):
        raise _ItemError("bad_timestamp", Message(N_("{name} 须为{what}，收到 {value}"), name=name, what=what,
                                                  value=repr(value)))
    try:
        at = datetime.strptime(value.strip(), fmt) if fmt else datetime.fromisoformat(value)
    except ValueError:
        raise _ItemError("bad_timestamp", Message(N_("{name} 不是{what}：{value}"), name=name, what=what,
                                                  value=repr(value))) from None
    if at.tzinfo is None:
        if config.timezone is None:
            raise _ItemError(
                "naive_timestamp", Message(N_("{name} {value} 是不带时区的时间（无 UTC 偏移）；数据源必须带上时区"),
                                           name=name, value=repr(value))
            )
        # A department's local wall time; ZoneInfo picks the right offset (DST included) for that date.
        at = at.replace(tzinfo=ZoneInfo(config.timezone))
    if at.year < EARLIEST_YEAR:  # before comparing: near year 1 the shift to UTC overflows
        raise _ItemError("out_of_range", Message(N_("{name} {value} 早于 {year} 年；部门的记录不会这么早"), name=name,
                                                 value=repr(value), year=EARLIEST_YEAR))
    if at > now + CLOCK_SKEW:
        raise _ItemError(
            "future_timestamp", Message(N_("{name} {value} 在未来（现在是 {now}）"), name=name, value=repr(value),
                                        now=now.isoformat(timespec="seconds"))
        )
    return at


def _region(raw: Mapping[str, Any], config: SourceConfig) -> str:
    """The item's region code: the field itself, or the lookup of its region fields."""
    if config.region_lookup is None:
        return validate_code(raw[config.region_field])
    names = config.region_fields or (config.region_field,)
    parts = [str(raw.get(n) if raw.get(n) is not None else "").strip() for n in names]
    empty = [n for n, p in zip(names, parts, strict=True) if not p]
    if empty:
        raise _ItemError("missing_region", Message(N_(
                "没有地区：{fields} 为空或缺失"), fields=", ".join(map(repr, empty))))
    code = config.region_lookup.get("|".join(parts))
    if code is None:
        shown = ", ".join(f"{n}={p!r}" for n, p in zip(names, parts, strict=True))
        raise _ItemError("unknown_region", Message(N_(
                "未知地区：数据源的地区对照表中没有 {shown} 的代码"), shown=shown))
    return code


@dataclass(frozen=True)
class _Plan:
    """A mapping resolved against the kinds once: (src, dst, value map, field spec, personal?, free text?)."""

    fields: tuple[tuple[str, str, Mapping[str, Any] | None, FieldSpec | None, bool, bool], ...]


_PLANS: dict[int, tuple[SourceConfig, RecordKinds, _Plan]] = {}


def _plan(config: SourceConfig, kinds: RecordKinds) -> _Plan:
    # Keyed by identity (configs hold dicts, so they do not hash); the entry keeps both alive, so an id
    # is never reused while cached. Configs are few; the bound only guards against a leak.
    hit = _PLANS.get(id(config))
    if hit is not None and hit[0] is config and hit[1] is kinds:
        return hit[2]
    own = kinds.get(config.kind).fields
    plan = _Plan(tuple(
        (src, dst, config.value_maps.get(dst), own.get(dst), src in config.personal_raw or dst in kinds.personal,
         dst in config.free_text)
        for src, dst in config.fields.items()
    ))
    if len(_PLANS) > 256:
        _PLANS.clear()
    _PLANS[id(config)] = (config, kinds, plan)
    return plan


def map_item(
    raw: Any,
    config: SourceConfig,
    kinds: RecordKinds,
    key: str | bytes,
    *,
    now: datetime | None = None,
    known_regions: Container[str] | None = None,
) -> Record | Rejection:
    """Validate, map and pseudonymise one raw item. Never raises: a problem is a :class:`Rejection`.

    ``now`` (default: the wall clock) bounds timestamps from the future; ``known_regions``, when given,
    is the set of region codes the deployment knows (others are refused).
    """
    now = now or datetime.now(UTC)
    source_id: str | None = None

    def reject(reason: str, code: str) -> Rejection:
        return Rejection(reason, source_id, safe_raw(raw, config, key), code)

    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            return reject(Message(N_(
                    "无法解析的 JSON（{reason}）；该页在传输中被截断或损坏"), reason=str(exc)), "unparseable")
        except RecursionError:  # json recurses per level: 100,000 "[" overflow it
            return reject(TOO_DEEP, "too_deep")
    if type(raw) is not dict and not isinstance(raw, Mapping):  # the exact-type test first: ABCs are slow
        return reject(Message(N_("条目不是 JSON 对象，而是 {type}"), type=type(raw).__name__), "not_object")
    sid = raw.get(config.id_field)
    if sid is None or sid == "" or isinstance(sid, (dict, list)):
        return reject(Message(N_(
                "缺少 id 字段 {field}；部门是否改了字段名？"), field=repr(config.id_field)), "missing_id")
    source_id = str(sid)
    if has_bad_text(source_id) or len(source_id) > 200:
        source_id = None  # not kept as the quarantine row's id either
        return reject(Message(N_("id 字段 {field} 含有 NUL、无效字符或超过 200 个字符"), field=repr(config.id_field)),
                      "bad_text")
    if any(too_deep(raw.get(name), MAX_DEPTH - 1) for name in _read_fields(config)):
        return reject(TOO_DEEP, "too_deep")  # before anything below recurses into it (coerce's repr, masking)
    for name in (config.at_field, *(config.region_fields or (config.region_field,))):
        if name not in raw:
            return reject(
                Message(N_("缺少字段 {field}（数据源改了字段名？请更新 {source} 的映射）"), field=repr(name),
                        source=config.name),
                "missing_field"
            )
    try:
        at = _parse_at(raw[config.at_field], config.at_field, now, config)
        region = _region(raw, config)
    except RegionCodeError as exc:
        return reject(Message(N_("{field} 中的地区代码无效：{reason}"), field=repr(config.region_field),
                              reason=message_of(exc) or str(exc)),
                      "invalid_region")
    except _ItemError as exc:
        return reject(message_of(exc) or str(exc), exc.code)
    if known_regions is not None and region not in known_regions:
        return reject(Message(N_("未知地区代码 {code}：不在区域目录中"), code=repr(region)), "unknown_region")
    if config.kind not in kinds.kinds:
        return reject(Message(N_("字段无效：未知的记录类型 {kind}"), kind=repr(config.kind)), "invalid_field")
    plan = _plan(config, kinds)
    attrs: dict[str, Any] = {}
    bad: str | None = None
    bad_code = "invalid_field"
    for src, dst, vmap, spec, personal, free in plan.fields:
        value = raw.get(src)
        if value is None or value == "" or dst in attrs:
            continue
        if vmap is not None and isinstance(value, (str, int, float, bool)) and str(value) in vmap:
            value = vmap[str(value)]
        if spec is None:
            bad = bad or Message(N_("{kind} 记录没有字段 {field}"), kind=config.kind, field=repr(dst))
            continue
        try:
            value = spec.coerce(value)
        except ValueError as exc:
            if bad is None:
                bad, bad_code = message_of(exc) or str(exc), getattr(exc, "code", "invalid_field")
            attrs[dst] = None  # present but wrong: reported as invalid, not as missing
            continue
        # Personal: a department field marked so, or a field the kinds declare personal (``person``).
        attrs[dst] = pseudonymise_value(value, key) if personal else mask_value(value) if free else value
    for name, value in config.constants.items():
        attrs.setdefault(name, value)
    missing = [f for f in config.required if f not in attrs]
    if missing:
        return reject(
            Message(N_("缺少字段 {fields}（数据源改了字段名？请更新 {source} 的映射）"), fields=", ".join(missing),
                    source=config.name),
            "missing_field",
        )
    if bad is not None:
        return reject(Message(N_("字段无效：{reason}"), reason=bad), bad_code)
    try:
        return Record(kind=config.kind, source=config.name, id=source_id, at=at, region=region, attributes=attrs)
    except ValidationError as exc:
        return reject(Message(N_("记录无效：{reason}"), reason=error_message(exc.errors()[0])), "invalid_record")
