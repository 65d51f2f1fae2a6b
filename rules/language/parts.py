"""The parts a rule is built of (:mod:`rules.language.model` describes the whole): sequence and absence
steps, windows and their aggregate, baselines, and the levels with their conditions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, ValidationInfo

from domain.messages import N_, Message
from domain.warnings import Level
from rules.language.ast_base import Located, condition_field, parse_duration, timestamp_fields
from rules.language.conditions_ast import Condition
from rules.language.positions import LanguageError, key_line

AggregateKind = Literal["count", "sum", "distinct"]


class Step(Located):
    """One step of a sequence or absence: a record kind and a filter."""

    record: str
    where: Condition = Field(default_factory=Condition)

    @classmethod
    def _normalise(cls, raw: Mapping[str, Any], out: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        condition_field(raw, out, "where", timestamp_fields(info, out.get("record")))
        return out


class Absence(Located):
    """``after`` happened and ``missing`` did not follow within the rule's ``within``."""

    after: Step
    missing: Step


class Aggregate(Located):
    """What a window computes: ``count`` of records, ``sum`` of a field, or ``distinct`` values of one."""

    kind: AggregateKind
    field: str | None = None

    @property
    def name(self) -> str:
        """The name levels' ``when`` and the summary use for the value: count, sum or distinct."""
        return self.kind


class Window(Located):
    """A sliding event-time window: records of one key (``by``) with ``at`` in (t − within, t]."""

    within: timedelta
    by: tuple[str, ...] = ()
    aggregate: Aggregate

    @classmethod
    def _normalise(cls, raw: Mapping[str, Any], out: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if "within" in out:
            out["within"] = parse_duration(out["within"], key_line(raw, "within", out["line"]))
        agg = out.get("aggregate", "count")
        here = key_line(raw, "aggregate", out["line"])
        if agg == "count":
            out["aggregate"] = {"kind": "count", "file": out["file"], "line": here}
        elif isinstance(agg, Mapping) and len(agg) == 1 and next(iter(agg)) in ("sum", "distinct"):
            kind, field = next(iter(agg.items()))
            if not isinstance(field, str):
                raise LanguageError(Message(N_("'{kind}' 须为字段名"), kind=kind), here)
            out["aggregate"] = {"kind": kind, "field": field, "file": out["file"], "line": here}
        elif not isinstance(agg, Aggregate):
            msg = Message(N_("aggregate 须为 count、{{sum: FIELD}} 或 {{distinct: FIELD}}，得到 {agg}"), agg=repr(agg))
            raise LanguageError(msg, here)
        return out


BASELINE_NAMES: tuple[str, ...] = ("expected", "spread", "ratio", "zscore")
"""What a rule with a ``baseline`` may test in ``levels[].when`` and name in ``summary`` (besides the
aggregate's own name and ``periods``)."""
MAX_SAMPLES = 52


class Baseline(Located):
    """The same window at the same key in earlier periods (rule language 1.1): sample ``i`` (1 ≤ i ≤
    ``samples``) is the aggregate over the key's records with ``at`` in (t − i·every − within, t − i·every]."""

    samples: int
    every: timedelta

    @classmethod
    def _normalise(cls, raw: Mapping[str, Any], out: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        here = out["line"]
        for key in ("samples", "every"):
            if key not in raw:
                raise LanguageError(Message(N_("基线需要 '{key}'，例如 baseline: {{samples: 8, every: 7d}}"),
                                            key=key), here)
        samples = out["samples"]
        if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
            msg = Message(N_("基线 samples 须为 1 到 {limit} 的整数，得到 {samples}"), limit=MAX_SAMPLES,
                          samples=repr(samples))
            raise LanguageError(msg, key_line(raw, "samples", here))
        out["every"] = parse_duration(out["every"], key_line(raw, "every", here))
        return out

    @property
    def horizon(self) -> timedelta:
        """How far back the samples reach from a record's ``at``, not counting the window's ``within``."""
        return self.every * self.samples


class LevelSpec(Located):
    """A level and the condition under which the rule fires at it (``None``: always)."""

    level: Level
    when: Condition | None = None

    @classmethod
    def _normalise(cls, raw: Mapping[str, Any], out: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if out.get("when") is not None:
            condition_field(raw, out, "when", frozenset({"at"}))
        return out
