"""Durations as policy files write them: ``"90m"``, ``"24h"``, ``"15d"`` (pure).

Shared by the escalation policy and the task declarations it carries (``domain.tasks``), which cannot
import each other both ways.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from domain.messages import N_, Message

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> object:
    """``"90m"``, ``"24h"``, ``"15d"`` → :class:`timedelta`; anything else is left for pydantic (ISO 8601,
    seconds as a number, a timedelta)."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(Message(N_("时长须为正数")))
    return value


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError(Message(N_("时长不能为负数")))
    return value


PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]
"""A model field of a positive duration, written ``"90m"``, ``"24h"``, ``"15d"`` (or as pydantic reads one)."""
NonNegativeDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_not_negative)]
"""A model field of a duration that may be zero (a switch that 0 turns off)."""
