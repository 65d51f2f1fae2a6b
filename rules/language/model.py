"""The typed AST of a rule file (docs/rules-language.md, version 1), as frozen pydantic models.

How the back end walks it
-------------------------
``RuleFile`` → ``rules: tuple[Rule, ...]`` and ``tests: tuple[TestCase, ...]``. A :class:`Rule` is one
of four kinds (``rule.kind``):

- ``"simple"``:   ``record`` (a kind name) + ``where``; fires on each record that passes.
- ``"window"``:   ``record`` + ``where`` + ``window`` (:class:`Window`: ``within`` timedelta, ``by``
  fields, ``aggregate`` = :class:`Aggregate` with ``kind`` in count/sum/distinct and ``field``); levels'
  ``when`` test the aggregate under ``window.aggregate.name`` (``count``/``sum``/``distinct``) and
  ``periods``; with a ``baseline`` (:class:`Baseline`: ``samples``, ``every``) also
  :data:`BASELINE_NAMES` (``expected``, ``spread``, ``ratio``, ``zscore``).
- ``"sequence"``: ``sequence`` (tuple of :class:`Step` ``record``+``where``), ``join`` fields,
  ``within``.
- ``"absence"``:  ``absence`` (:class:`Absence` ``after``/``missing`` steps), ``join``, ``within``.

``levels`` is always a non-empty tuple of :class:`LevelSpec` (``level: x`` was normalised to
``levels=({level: x},)``), in file order; the highest level whose ``when`` holds wins, ``when=None``
always holds. A level may appear twice (e.g. a lower threshold during a calendar period): either entry
holding is enough. ``rule.fingerprint_fields`` applies the ``group_by`` default (window ``by``, else
``join``, else ``("region",)``).

Conditions: ``where``/``when`` are a :class:`Condition` = a conjunction of ``terms``; each term is a
:class:`FieldTest` (``field``, ``op``: :class:`Op`, ``value``), an :class:`AnyOf` (``options``: tuple of
Condition, one must hold) or a :class:`NotOf` (``condition`` must not hold). An empty Condition holds.
Values on ``at`` (and on timestamp fields of the kind) are aware datetimes. ``Condition.walk()`` yields
the leaves. Every model carries ``file`` and ``line`` (1-based) for ``FILE:LINE`` errors.

Build from parsed YAML with ``RuleFile.model_validate(data, context={"file": path, "kinds": kinds})``
(``kinds`` optional: a :class:`domain.kinds.RecordKinds`, used to find timestamp fields). A dict given
for a condition field is always parsed as the YAML condition form. Sequences are tuples, except a
test's ``records``/``expect`` which are lists of plain dicts, as written.

Helpers: ``rule.steps`` (what it watches, as Steps), ``rule.firing_record`` (kind of the record that
fires), ``rule.emits`` (levels it can fire at), ``node.lines[key]`` (line of a key). Elsewhere:
:func:`rules.language.regex.compile_regex` / :func:`rules.language.regex.translate_regex` for ``matches``,
:func:`rules.language.templates.render` for ``summary``, :func:`rules.language.chaining.step_takes` for chaining, and
:func:`rules.language.loader.load_rulebook` to get validated rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, ValidationInfo

from domain.messages import N_, Message
from domain.warnings import Level
from rules.language.ast_base import Located, condition_field, noise_fields, parse_duration, timestamp_fields
from rules.language.conditions_ast import OPERATORS, AnyOf, Condition, FieldTest, NotOf, Op, Term, parse_condition
from rules.language.parts import (
    BASELINE_NAMES,
    Absence,
    Aggregate,
    AggregateKind,
    Baseline,
    LevelSpec,
    Step,
    Window,
)
from rules.language.positions import LanguageError, LineList, key_line, plain

__all__ = [
    "BASELINE_NAMES",
    "OPERATORS",
    "Absence",
    "Aggregate",
    "AggregateKind",
    "AnyOf",
    "Baseline",
    "Condition",
    "FieldTest",
    "LanguageError",
    "LevelSpec",
    "NotOf",
    "Op",
    "Rule",
    "RuleFile",
    "RuleKind",
    "Step",
    "Term",
    "TestCase",
    "Window",
    "parse_condition",
    "parse_duration",
]

RuleKind = Literal["simple", "window", "sequence", "absence"]
RULE_ID = re.compile(r"^[a-z0-9-]+$")
RULEBOOK_ERROR_RULE = "rulebook-error"
"""Reserved rule id of the warnings that tell administrators a rule file or a record could not be
evaluated; no rule file may use it."""



_KIND_KEYS = {"record", "sequence", "absence"}


class Rule(Located):
    """One early-warning rule (see the module docstring for the four kinds)."""

    id: str
    title: str = ""
    record: str | None = None
    where: Condition = Field(default_factory=Condition)
    levels: tuple[LevelSpec, ...]
    group_by: tuple[str, ...] | None = None
    summary: str | None = None
    window: Window | None = None
    sequence: tuple[Step, ...] | None = None
    join: tuple[str, ...] = ()
    within: timedelta | None = None
    absence: Absence | None = None
    baseline: Baseline | None = None
    notify_every: timedelta | None = None
    """Firings folded into an open warning notify again at most once per this span of event time (a rise
    always notifies); none: folds never notify."""
    resolve_after: timedelta | None = None
    """Event time without a new firing after which an open warning turns ``stale`` (its holder is told
    it may be closed)."""
    auto_resolve: bool = False
    """With ``resolve_after``: a stale warning resolves itself (audited) instead of waiting for a human."""

    @classmethod
    def _normalise(cls, raw: Mapping[str, Any], out: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        here = out["line"]
        noise_fields(raw, out, here)
        rid = out.get("id")
        if not isinstance(rid, str) or not RULE_ID.match(rid):
            raise LanguageError(Message(N_("规则 id 须符合 [a-z0-9-]+，得到 {id}"),
                                        id=repr(rid)), key_line(raw, "id", here))
        if rid == RULEBOOK_ERROR_RULE:
            raise LanguageError(Message(N_("规则 id '{id}' 保留给规则库错误使用；请另选一个"), id=rid),
                                key_line(raw, "id", here))
        present = sorted(_KIND_KEYS & set(raw))
        if len(present) != 1:
            why = Message(N_("一个也没有")) if not present else Message(N_("有 {keys}"), keys=", ".join(present))
            raise LanguageError(Message(N_("规则 '{id}' 须有且只有 record、sequence、absence 之一（{why}）"), id=rid,
                                        why=why), here)
        watch = present[0]
        if "window" in raw and watch != "record":
            raise LanguageError(Message(N_("'window' 只能与 'record' 一起使用")), key_line(raw, "window", here))
        if "baseline" in raw and "window" not in raw:
            msg = Message(N_("'baseline' 只能与 'window' 一起使用：只有窗口规则才有可与历史比较的聚合值"))
            raise LanguageError(msg, key_line(raw, "baseline", here))
        if "baseline" in raw and not isinstance(raw["baseline"], Mapping):
            msg = Message(N_("baseline 须为映射，例如 baseline: {{samples: 8, every: 7d}}，得到 {value}"),
                          value=repr(raw["baseline"]))
            raise LanguageError(msg, key_line(raw, "baseline", here))
        if "where" in raw and watch != "record":
            msg = Message(N_("'where' 只能与 'record' 一起使用；{kind} 在其各步骤中筛选"), kind=watch)
            raise LanguageError(msg, key_line(raw, "where", here))
        for key in ("join", "within"):
            if watch == "record" and key in raw:
                hint = Message(N_("（窗口有自己的 'within'）")) if key == "within" and "window" in raw else ""
                raise LanguageError(Message(N_("'{key}' 只能与 sequence 或 absence 一起使用{hint}"),
                                            key=key, hint=hint),
                                    key_line(raw, key, here))
            if watch != "record" and key not in raw:
                raise LanguageError(Message(N_("{kind} 规则需要 '{key}'"), kind=watch, key=key), here)
        if watch == "sequence" and (not isinstance(raw["sequence"], list) or len(raw["sequence"]) < 2):
            raise LanguageError(Message(N_("sequence 至少需要两个步骤")), key_line(raw, "sequence", here))
        if "within" in out:
            out["within"] = parse_duration(out["within"], key_line(raw, "within", here))
        if "level" in out:
            if "levels" in out:
                raise LanguageError(Message(N_("请写 'level' 或 'levels'，不要两者都写")), key_line(raw, "level", here))
            lline = key_line(raw, "level", here)
            out["levels"] = [{"level": out.pop("level"), "line": lline, "file": out["file"]}]
        elif not isinstance(out.get("levels"), list) or not out["levels"]:
            raise LanguageError(Message(N_("规则 '{id}' 需要 'level' 或非空的 'levels' 列表"), id=rid), here)
        condition_field(raw, out, "where", timestamp_fields(info, out.get("record")))
        return out

    @property
    def kind(self) -> RuleKind:
        """simple, window, sequence or absence."""
        if self.sequence is not None:
            return "sequence"
        if self.absence is not None:
            return "absence"
        return "window" if self.window is not None else "simple"

    @property
    def steps(self) -> tuple[Step, ...]:
        """What the rule watches, as steps: the record (with ``where``), the sequence, or after+missing."""
        if self.sequence is not None:
            return self.sequence
        if self.absence is not None:
            return (self.absence.after, self.absence.missing)
        return (Step(record=str(self.record), where=self.where, file=self.file, line=self.line),)

    @property
    def firing_record(self) -> str:
        """Kind of the record that fires: the watched one, a sequence's last step, an absence's ``after``."""
        if self.sequence is not None:
            return self.sequence[-1].record
        if self.absence is not None:
            return self.absence.after.record
        return str(self.record)

    @property
    def fingerprint_fields(self) -> tuple[str, ...]:
        """``group_by``, defaulting to the window's ``by``, else ``join``, else ``("region",)``."""
        if self.group_by is not None:
            return self.group_by
        if self.window is not None and self.window.by:
            return self.window.by
        return self.join or ("region",)

    @property
    def emits(self) -> frozenset[Level]:
        """Every level this rule can fire at."""
        return frozenset(spec.level for spec in self.levels)


class TestCase(Located):
    """An example in a rule file: records in, expected warnings out (``expect: []`` = silence)."""

    __test__ = False  # not a pytest class despite the name

    name: str
    records: list[dict[str, Any]]
    expect: list[dict[str, Any]]
    record_lines: tuple[int, ...] = Field(default=(), repr=False, exclude=True)
    """Line of each record, when loaded from YAML."""

    @classmethod
    def _normalise(cls, raw: Mapping[str, Any], out: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        records = raw.get("records")
        if isinstance(records, LineList):
            out["record_lines"] = tuple(records.item_lines)
        for key in ("records", "expect"):
            if key in out:
                out[key] = plain(out[key])
        return out


class RuleFile(Located):
    """One rule file: a ruleset name, its rules and its tests."""

    ruleset: str
    description: str = ""
    rules: tuple[Rule, ...] = ()
    tests: tuple[TestCase, ...] = ()
