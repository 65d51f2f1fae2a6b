"""Import survey results and factor registers from CSV (UTF-8, with or without BOM, as Excel writes).

Survey CSV, one of two shapes (header names are case-insensitive):

* long: a column ``answer`` (``strongly_support``, ``support``, ``neutral``, ``oppose``,
  ``strongly_oppose``, or 非常支持 / 支持 / 中立 / 反对 / 强烈反对), one row per respondent, or with a
  column ``count`` one row per answer (rows are summed);
* wide: the five columns ``strongly_support,support,neutral,oppose,strongly_oppose`` (English or Chinese
  names), one row per sampling point (e.g. per community); rows are summed.

Other columns are ignored. Factor CSV: one factor a row, columns ``title, dimension, probability, impact``
required; ``people, mitigation, residual_probability, residual_impact, failure, evidence`` optional.
``dimension`` is legality/rationality/feasibility/controllability/safety or 合法性/合理性/可行性/可控性/
安全性; ``failure`` is yes/no, true/false, 1/0 or 是/否; ``evidence`` lists references (``E1 E3`` or
``E1;E3``). A file with any bad row imports nothing; every error is one line ``FILE:LINE: message``.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from sqlmodel import Session, select

from domain.assessment import ANSWERS, Answer, Dimension, EvidenceKind, RiskFactor, SurveyCounts
from domain.messages import N_, Message, message_of
from domain.validation_messages import validation_messages
from integrations.store.assessment_models import AssessmentEvidenceRow, AssessmentFactorRow
from integrations.store.assessments import add_evidence, add_factor, get_assessment

_ANSWER_NAMES: dict[str, Answer] = {a.value: a for a in ANSWERS} | {a.chinese: a for a in ANSWERS}
_DIMENSION_NAMES: dict[str, Dimension] = {d.value: d for d in Dimension} | {d.chinese: d for d in Dimension}
_TRUE, _FALSE = {"yes", "true", "1", "是", "y"}, {"no", "false", "0", "否", "n", ""}


class CsvImportError(ValueError):
    """A CSV file could not be imported; ``errors`` are ``FILE:LINE: message`` lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _at(path: Path, line: int, message: str) -> str:
    """``FILE:LINE: message``, the message translated where it is shown (a Message)."""
    return Message(N_("{file}:{line}: {message}"), file=str(path), line=line, message=message)


def _rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CsvImportError([_at(path, 0, Message(N_("无法按 UTF-8 CSV 读取：{reason}"), reason=str(exc)))]) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    reader.fieldnames = header
    rows = [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None})
            for row in reader]
    return header, rows


def _int(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(Message(N_("{what} 须为整数，收到 {text}"), what=what, text=repr(text))) from None
    if value < 0:
        raise ValueError(Message(N_("{what} 不能为负数，收到 {value}"), what=what, value=value))
    return value


def survey_counts_from_csv(path: Path) -> SurveyCounts:
    """Read a survey CSV (long or wide, see the module) into counts; :class:`CsvImportError` otherwise."""
    header, rows = _rows(path)
    counts = dict.fromkeys(ANSWERS, 0)
    errors: list[str] = []
    wide = {h: _ANSWER_NAMES[h] for h in header if h in _ANSWER_NAMES}
    if "answer" in header:
        for line, row in rows:
            answer = _ANSWER_NAMES.get(row.get("answer", "").lower())
            if answer is None:
                errors.append(_at(path, line, Message(N_("未知的答案 {answer}；请用 {known} 之一"),
                                                      answer=repr(row.get("answer")),
                                                      known=", ".join(a.value for a in ANSWERS))))
                continue
            try:
                counts[answer] += _int(row["count"], "count") if "count" in header else 1
            except ValueError as exc:
                errors.append(_at(path, line, message_of(exc) or str(exc)))
    elif len(set(wide.values())) == len(ANSWERS):
        for line, row in rows:
            for col, answer in wide.items():
                try:
                    counts[answer] += _int(row.get(col) or "0", col)
                except ValueError as exc:
                    errors.append(_at(path, line, message_of(exc) or str(exc)))
    else:
        errors.append(_at(path, 1, Message(N_("问卷 CSV 须有 answer 列，或 {columns} 五列"),
                                           columns=",".join(a.value for a in ANSWERS))))
    if errors:
        raise CsvImportError(errors)
    result = SurveyCounts(**{a.value: n for a, n in counts.items()})
    if result.total == 0:
        raise CsvImportError([_at(path, 1, Message(N_("问卷没有任何答案")))])
    return result


def import_survey_csv(*, session: Session, assessment_id: int, path: Path, now: datetime,
                      title: str | None = None, summary: str = "") -> AssessmentEvidenceRow:
    """Import a survey's results as one survey evidence item (counts summed over the file)."""
    get_assessment(session=session, assessment_id=assessment_id)
    counts = survey_counts_from_csv(path)
    return add_evidence(session=session, assessment_id=assessment_id, kind=EvidenceKind.survey,
                        title=title or Message(N_("问卷调查（{name}）"), name=path.name), summary=summary,
                        survey=counts, source=str(path.name), now=now)


def _bool(text: str) -> bool:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(Message(N_("failure 须为 yes 或 no，收到 {text}"), text=repr(text)))


def _opt_int(text: str, what: str) -> int | None:
    return _int(text, what) if text else None


def factors_from_csv(path: Path) -> list[RiskFactor]:
    """Read a factor register CSV (see the module); refs ``F1``… are placeholders the store renumbers."""
    header, rows = _rows(path)
    missing = [c for c in ("title", "dimension", "probability", "impact") if c not in header]
    if missing:
        raise CsvImportError([_at(path, 1, Message(N_("缺少列：{columns}"), columns=", ".join(missing)))])
    factors: list[RiskFactor] = []
    errors: list[str] = []
    for i, (line, row) in enumerate(rows, 1):
        try:
            dimension = _DIMENSION_NAMES.get(row["dimension"].lower())
            if dimension is None:
                raise ValueError(Message(N_("未知的维度 {dimension}；请用 {known} 之一"),
                                         dimension=repr(row["dimension"]), known=", ".join(d.value for d in Dimension)))
            factors.append(RiskFactor(
                ref=f"F{i}", title=row["title"], dimension=dimension,
                probability=_int(row["probability"], "probability"), impact=_int(row["impact"], "impact"),
                people=_opt_int(row.get("people", ""), "people") or 0, mitigation=row.get("mitigation", ""),
                residual_probability=_opt_int(row.get("residual_probability", ""), "residual_probability"),
                residual_impact=_opt_int(row.get("residual_impact", ""), "residual_impact"),
                failure=_bool(row.get("failure", "")),
                evidence=tuple(r for r in re.split(r"[\s;,，；]+", row.get("evidence", "")) if r)))
        except ValidationError as exc:
            errors.extend(_at(path, line, m) for m in validation_messages(exc))
        except ValueError as exc:
            errors.append(_at(path, line, message_of(exc) or str(exc)))
    if errors:
        raise CsvImportError(errors)
    return factors


def import_factors_csv(*, session: Session, assessment_id: int, path: Path,
                       now: datetime) -> list[AssessmentFactorRow]:
    """Import a factor register; every row is checked (cited evidence too) before any is written."""
    get_assessment(session=session, assessment_id=assessment_id)
    factors = factors_from_csv(path)
    known = set(session.exec(select(AssessmentEvidenceRow.ref)
                             .where(AssessmentEvidenceRow.assessment_id == assessment_id)).all())
    _, rows = _rows(path)
    errors = []
    for (line, _row), f in zip(rows, factors, strict=True):
        unknown = [r for r in f.evidence if r not in known]
        if unknown:
            errors.append(_at(path, line, Message(N_("引用了不存在的依据：{refs}"), refs=", ".join(unknown))))
    if errors:
        raise CsvImportError(errors)
    return [add_factor(session=session, assessment_id=assessment_id, title=f.title, dimension=f.dimension,
                       probability=f.probability, impact=f.impact, people=f.people, mitigation=f.mitigation,
                       residual_probability=f.residual_probability, residual_impact=f.residual_impact,
                       failure=f.failure, evidence=f.evidence, now=now) for f in factors]
