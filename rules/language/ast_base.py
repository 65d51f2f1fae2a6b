"""Shared base of the rule-language AST: positions, durations, and condition fields in models.

Kept apart from :mod:`rules.language.model` only to keep modules small; import names from there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from domain.kinds import RecordKinds
from domain.messages import N_, Message
from rules.language.conditions_ast import Condition, parse_condition
from rules.language.positions import LanguageError, LineMap, key_line, line_of

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: Any, line: int = 0) -> timedelta:
    """``'90m'``, ``'7d'``, ``'24h'``, ``'30s'`` → timedelta (positive). :class:`LanguageError` if not."""
    if isinstance(text, timedelta):
        return text
    match = _DURATION.match(str(text)) if isinstance(text, str) else None
    if match is None or int(match.group(1)) == 0:
        msg = Message(N_("时长须为正数加 s、m、h 或 d（例如 90m、7d），得到 {text}"), text=repr(text))
        raise LanguageError(msg, line)
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def timestamp_fields(info: ValidationInfo, kind: Any) -> frozenset[str]:
    """``at`` plus the fields the kind declares as timestamps (when kinds were given)."""
    kinds = (info.context or {}).get("kinds")
    out = {"at"}
    if isinstance(kinds, RecordKinds) and isinstance(kind, str) and kind in kinds.kinds:
        out |= {n for n, f in kinds.kinds[kind].fields.items() if f.type == "timestamp"}
    return frozenset(out)


_POSITION_KEYS = ("file", "line", "lines", "record_lines")


class Located(BaseModel):
    """Base of the AST: frozen, no unknown keys, and a ``file``/``line`` position."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = ""
    line: int = 0
    lines: dict[str, int] = Field(default_factory=dict, repr=False, exclude=True)
    """Line of each key as written (``rule.lines["record"]``), for errors that point inside a node."""

    @model_validator(mode="before")
    @classmethod
    def _locate(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Mapping):
            return data
        if isinstance(data, LineMap):
            for key in _POSITION_KEYS:
                if key in data:  # positions come from the loader, never from the author
                    raise LanguageError(Message(N_("未知的键 '{key}'"), key=key), key_line(data, key))
        out = dict(data)
        out.setdefault("file", str((info.context or {}).get("file", "")))
        out.setdefault("line", line_of(data))
        if isinstance(data, LineMap):
            out["lines"] = {str(k): v for k, v in data.key_lines.items()}
        return cls._normalise(data, out, info)

    @classmethod
    def _normalise(cls, raw: Mapping[str, Any], out: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Subclasses rewrite author shorthand into the model's shape; ``raw`` keeps the positions."""
        return out


def condition_field(raw: Mapping[str, Any], out: dict[str, Any], key: str, stamps: frozenset[str]) -> None:
    """Parse ``out[key]`` as a condition in place (keeping an already built Condition)."""
    if key in out and not isinstance(out[key], Condition):
        here = key_line(raw, key, out["line"])
        out[key] = parse_condition(out[key], out["file"], here, stamps)


def noise_fields(raw: Mapping[str, Any], out: dict[str, Any], here: int) -> None:
    """Read ``notify_every``/``resolve_after`` as durations; ``auto_resolve`` must be a boolean and needs
    ``resolve_after``."""
    for key in ("notify_every", "resolve_after"):
        if key in out:
            out[key] = parse_duration(out[key], key_line(raw, key, here))
    if "auto_resolve" in out:
        line = key_line(raw, "auto_resolve", here)
        if not isinstance(out["auto_resolve"], bool):
            raise LanguageError(Message(N_("auto_resolve 须为 true 或 false，得到 {value}"),
                                        value=repr(out["auto_resolve"])), line)
        if out["auto_resolve"] and "resolve_after" not in out:
            raise LanguageError(Message(N_("auto_resolve 需要 resolve_after（多久没有触发，例如 72h）")), line)
