"""Load, check and test assessment scoring schemes (``rules/assessment/*.yaml``).

Validated like rule files: safe YAML with positions, the pydantic schema of
:mod:`domain.assessment_scheme` (``extra="forbid"``), and every error one line ``FILE:LINE: message``.
Each file carries its own tests (inputs → expected level, or the reasons scoring is refused).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.assessment import (
    AssessmentIncomplete,
    AssessmentInput,
    Decision,
    Evidence,
    EvidenceKind,
    Expert,
    PublicNotice,
    RiskFactor,
)
from domain.assessment_scheme import Scheme, SchemeCase
from domain.assessment_scoring import score
from domain.messages import N_, Message
from rules.language.positions import key_line, line_of
from rules.language.yaml_safe import YamlError, load_yaml

SCHEME_DIR = Path(__file__).resolve().parent
"""Where the shipped schemes live."""

DEFAULT_SCHEME = SCHEME_DIR / "default.yaml"
"""The scheme used when none is named."""


class SchemeFileError(ValueError):
    """A scheme file failed validation; ``errors`` are ``FILE:LINE: message`` lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _line_for(data: Any, loc: Iterable[Any]) -> int:
    """The line of the deepest node of ``loc`` found in the parsed YAML (simple lookup)."""
    node, line = data, line_of(data, 1)
    for key in loc:
        in_map = isinstance(node, dict) and key in node
        in_list = isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        if in_map or in_list:
            line, node = key_line(node, key, line), node[key]
        else:
            break
    return line


def _format(path: Path, data: Any, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        # pydantic adds the union member or validator name to a loc; keep only the parts in the file
        loc = [p for p in err["loc"] if isinstance(p, int) or not str(p).startswith(("function-", "union["))]
        where = ".".join(str(p) for p in loc)
        msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{path}:{_line_for(data, loc)}: {where + ': ' if where else ''}{msg}")
    return out


def case_input(case: SchemeCase) -> AssessmentInput:
    """Build the :class:`AssessmentInput` a scheme test describes compactly."""
    d = case.decision
    decision = Decision(title=case.name, region=d.region, kind=d.kind, investment_yuan=d.investment_yuan,
                        affected_people=d.affected_people)
    evidence: list[Evidence] = []

    def add(kind: EvidenceKind, **kw: Any) -> None:
        evidence.append(Evidence(ref=f"E{len(evidence) + 1}", kind=kind, title=kind.chinese, **kw))

    if case.notice_days is not None:
        start = date(2026, 1, 1)
        end = start + timedelta(case.notice_days - 1)
        add(EvidenceKind.public_notice, notice=PublicNotice(start=start, end=end))
    for counts in case.surveys:
        add(EvidenceKind.survey, survey=counts)
    for kind in case.evidence_kinds:
        add(kind)
    factors = tuple(
        RiskFactor(ref=f"F{i}", title=f"{f.dimension.chinese} factor {i}", dimension=f.dimension,
                   probability=f.probability, impact=f.impact, people=f.people, failure=f.failure,
                   residual_probability=f.residual[0] if f.residual else None,
                   residual_impact=f.residual[1] if f.residual else None)
        for i, f in enumerate(case.factors, 1))
    experts = tuple(Expert(name=f"expert {i}") for i in range(1, case.experts + 1))
    return AssessmentInput(decision=decision, evidence=tuple(evidence), experts=experts, factors=factors)


def load_scheme(path: Path | str) -> Scheme:
    """Read and validate one scheme file; :class:`SchemeFileError` with every problem otherwise."""
    path = Path(path)
    try:
        data = load_yaml(path.read_bytes())
    except YamlError as exc:
        raise SchemeFileError([f"{path}:{exc.line}: {exc.message}"]) from None
    except OSError as exc:
        unreadable = Message(N_("无法读取：{reason}"), reason=str(exc.strerror))
        raise SchemeFileError([f"{path}:0: {unreadable}"]) from None
    if not isinstance(data, dict):
        not_a_map = Message(N_("评估方案文件须为映射（scheme:、dimensions:、…）"))
        raise SchemeFileError([f"{path}:1: {not_a_map}"])
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as exc:
        raise SchemeFileError(_format(path, data, exc)) from None
    errors = []
    for i, case in enumerate(scheme.tests):
        try:
            case_input(case)
        except ValidationError as exc:
            line = _line_for(data, ["tests", i])
            errors += [f"{path}:{line}: tests.{i}: {e['msg'].removeprefix('Value error, ')}"
                       for e in exc.errors()]
    if errors:
        raise SchemeFileError(errors)
    return scheme


def _files(paths: Iterable[Path | str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(p.glob("*.yaml")) if p.is_dir() else [p]
    return out


def check_schemes(paths: Iterable[Path | str]) -> list[str]:
    """Validate scheme files (or folders of them); the ``FILE:LINE: message`` errors, empty when all good."""
    errors: list[str] = []
    for path in _files(paths):
        try:
            load_scheme(path)
        except SchemeFileError as exc:
            errors += exc.errors
    return errors


class SchemeTestResult(str):
    """``"N passed, M failed"``, carrying ``passed``, ``failed`` and one line per ``failures``."""

    passed: int
    failed: int
    failures: list[str]

    def __new__(cls, passed: int, failed: int, failures: list[str]) -> SchemeTestResult:
        """Build the summary string and keep its parts."""
        obj = super().__new__(cls, f"{passed} passed, {failed} failed")
        obj.passed, obj.failed, obj.failures = passed, failed, failures
        return obj


def _run_case(scheme: Scheme, case: SchemeCase) -> str | None:
    """None when the case passes, else why not."""
    exp = case.expect
    try:
        result = score(case_input(case), scheme)
    except AssessmentIncomplete as exc:
        if not exp.incomplete:
            return Message(N_("评分被拒绝：{reasons}"), reasons="；".join(exc.reasons))
        text = "；".join(exc.reasons)
        absent = [s for s in exp.incomplete if s not in text]
        return Message(N_("理由中没有提到 {absent}：{reasons}"), absent=absent, reasons=text) if absent else None
    if exp.incomplete:
        return Message(N_("期望评分被拒绝（{absent}），实际为 {level}"), absent=list(exp.incomplete),
                       level=result.level_before.value)
    got = (result.level_before, result.level_after)
    if (exp.before or got[0], exp.after or got[1]) != got:
        return Message(N_("期望 before={before} after={after}，实际 before={got_before} after={got_after}"
                          "（分数 {score_before} → {score_after}）"), before=exp.before and exp.before.value,
                       after=exp.after and exp.after.value, got_before=got[0].value, got_after=got[1].value,
                       score_before=result.score_before, score_after=result.score_after)
    return None


def test_schemes(paths: Iterable[Path | str]) -> SchemeTestResult:
    """Run the tests inside scheme files; a file that does not validate counts as one failure."""
    passed, failures = 0, []
    for path in _files(paths):
        try:
            scheme = load_scheme(path)
        except SchemeFileError as exc:
            failures += exc.errors
            continue
        for i, case in enumerate(scheme.tests):
            problem = _run_case(scheme, case)
            if problem is None:
                passed += 1
            else:
                failures.append(f"{path}: test {i + 1} '{case.name}': {problem}")
    return SchemeTestResult(passed, len(failures), failures)


test_schemes.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, whatever its name


def load_named_scheme(name: str) -> Scheme:
    """The shipped scheme called ``name`` (``rules/assessment/<name>.yaml``), or a path to a scheme file."""
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        path = SCHEME_DIR / f"{name}.yaml"
    return load_scheme(path)
