"""The per-record evaluation budget, and the errors that report a record left out of evaluation.

Every record costs the engines bounded time: conditions nest at most 32 deep (the loader refuses more),
``matches`` runs in RE2 (linear in the text, never a backtracking hang) and reads at most
:data:`MAX_MATCH_TEXT` characters of a field. A record over that budget, or one on which a rule raises,
is left out (no rule sees it) and reported as an :class:`EvaluationError` naming the record, the rule
and the reason; evaluation goes on with the next record. The live path quarantines the record and opens
an error warning for the rulebook's administrators (rule :data:`RULEBOOK_ERROR_RULE`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.messages import N_, Message
from rules.language.conditions_ast import Condition, Op
from rules.language.model import RULEBOOK_ERROR_RULE, Rule

__all__ = ["MAX_MATCH_TEXT", "RULEBOOK_ERROR_RULE", "EvaluationError", "TextBudget"]

MAX_MATCH_TEXT = 100_000
"""Longest text (characters) a ``matches`` test reads; a longer value leaves its record out."""



@dataclass(frozen=True)
class EvaluationError:
    """A record left out of evaluation: which, by which rule, and why (Chinese, saying what to do)."""

    record: str
    """The record's ``kind/source/id``."""
    rule: str
    reason: str

    def __str__(self) -> str:
        return Message(N_("{record}: 规则 {rule}: {reason}"), record=self.record, rule=self.rule, reason=self.reason)


class TextBudget:
    """The fields each record kind's ``matches`` tests read, with the first rule that reads each."""

    def __init__(self, checks: Mapping[str, Sequence[tuple[int, Condition]]],
                 info: Sequence[tuple[int, int, int]], rules: Sequence[Rule]) -> None:
        self.kinds: dict[str, dict[str, str]] = {}
        for kind, kind_checks in checks.items():
            for cid, condition in kind_checks:
                for test in condition.walk():
                    if test.op is Op.matches:
                        self.kinds.setdefault(kind, {}).setdefault(test.field, rules[info[cid][0]].id)

    def over(self, kind: str, ref: str, fields: Mapping[str, Any]) -> EvaluationError | None:
        """The error when a field ``kind``'s ``matches`` tests read is longer than the budget."""
        for name, rule in self.kinds.get(kind, {}).items():
            value = fields.get(name)
            if isinstance(value, str) and len(value) > MAX_MATCH_TEXT:
                return EvaluationError(ref, rule, Message(N_(
                    "字段 {name} 长 {n} 字符，超过正则匹配上限 {limit}：该记录未参与研判，已隔离；请核对数据源后重放"),
                    name=name, n=len(value), limit=MAX_MATCH_TEXT))
        return None


def failed(ref: str, rule: str, exc: BaseException) -> EvaluationError:
    """The error for a rule that raised on a record."""
    said = N_("研判出错（{error}）：该记录未参与研判，已隔离；请把此消息转给规则维护人员")
    return EvaluationError(ref, rule, Message(said, error=f"{type(exc).__name__}: {str(exc)[:200]}"))
