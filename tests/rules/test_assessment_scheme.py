"""Scoring scheme files: validation with FILE:LINE errors and the tests inside each file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rules.assessment import schemes

DEFAULT = schemes.DEFAULT_SCHEME.read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_shipped_schemes_are_valid_and_their_tests_pass() -> None:
    assert schemes.check_schemes([schemes.SCHEME_DIR]) == []
    result = schemes.test_schemes([schemes.SCHEME_DIR])
    assert result == f"{result.passed} passed, 0 failed" and result.passed >= 7
    assert result.failures == []


def test_unknown_key_is_reported_with_its_line(tmp_path: Path) -> None:
    text = DEFAULT.replace("combine: max", "combine: max\ncombination: sum")
    path = _write(tmp_path, text)
    errors = schemes.check_schemes([path])
    assert errors == [f"{path}:{_line_of(text, 'combination:')}: combination: Extra inputs are not permitted"]


def test_bad_weight_and_cutoffs_point_at_their_lines(tmp_path: Path) -> None:
    text = DEFAULT.replace("legality: {weight: 1.2", "legality: {weight: -1").replace("high: 15", "high: 5")
    path = _write(tmp_path, text)
    errors = schemes.check_schemes([path])
    assert len(errors) == 2, errors
    assert errors[0].startswith(f"{path}:{_line_of(text, 'legality: {weight: -1')}: dimensions.legality.weight")
    assert errors[1].startswith(f"{path}:{_line_of(text, 'cutoffs:')}: cutoffs: 中等的分界（8.0）须低于高的分界")
    assert all("\n" not in e for e in errors)


def test_hard_rule_needs_exactly_one_condition(tmp_path: Path) -> None:
    text = DEFAULT.replace("when: {failure_in: legality}", "when: {failure_in: legality, factor: {score: 3}}")
    path = _write(tmp_path, text)
    [error] = schemes.check_schemes([path])
    assert error.startswith(f"{path}:{_line_of(text, 'factor: {score: 3}')}: hard_rules.0.when")
    assert "须有且只有 failure_in" in error


def test_missing_dimension_and_duplicate_key(tmp_path: Path) -> None:
    no_safety = DEFAULT.replace("  safety: {weight: 1.2, label: 安全性}\n", "")
    [error] = schemes.check_schemes([_write(tmp_path, no_safety)])
    assert "以下维度缺少权重：safety" in error
    dup = DEFAULT.replace("combine: max", "combine: max\ncombine: sum")
    path = _write(tmp_path, dup, "dup.yaml")
    assert schemes.check_schemes([path]) == [f"{path}:{_line_of(dup, 'combine: sum')}: 键 'combine' 重复"
                                              f"（首次出现在第 {_line_of(dup, 'combine: max')} 行）"]


def test_panel_bands_must_end_open(tmp_path: Path) -> None:
    text = DEFAULT.replace("      - {experts: 5}", "      - {below_yuan: 2000000000, experts: 5}")
    [error] = schemes.check_schemes([_write(tmp_path, text)])
    assert "requirements.panel" in error and "最后一个 by_investment 档" in error


def test_failing_case_is_counted_and_explained(tmp_path: Path) -> None:
    text = DEFAULT.replace("expect: {before: medium, after: low}", "expect: {before: high, after: low}", 1)
    path = _write(tmp_path, text)
    result = schemes.test_schemes([path])
    assert result == f"{result.passed} passed, 1 failed"
    assert "期望 before=high" in result.failures[0] and "实际 before=medium" in result.failures[0]


def test_invalid_file_counts_as_a_failure(tmp_path: Path) -> None:
    path = _write(tmp_path, "scheme: x\n  bad: [")
    result = schemes.test_schemes([path])
    assert result == "0 passed, 1 failed"
    assert result.failures[0].startswith(f"{path}:")


def test_case_with_bad_region_is_a_validation_error(tmp_path: Path) -> None:
    text = DEFAULT.replace('region: "510100000000"', 'region: "5101"')
    path = _write(tmp_path, text)
    [error] = schemes.check_schemes([path])
    assert error.startswith(f"{path}:") and "地区代码须为 12 位数字" in error


def test_load_named_scheme() -> None:
    assert schemes.load_named_scheme("default").scheme == "default"
    with pytest.raises(schemes.SchemeFileError, match="无法读取"):
        schemes.load_named_scheme("nope")


def test_refusal_reasons_are_one_language(monkeypatch: pytest.MonkeyPatch) -> None:
    # domain/ words them in Chinese (Messages); English comes through the catalogue, vocabulary included
    from domain.assessment import AssessmentIncomplete
    from domain.assessment_scoring import score
    from integrations.i18n import translate
    from integrations.settings import get_settings
    from tests.ssra_helpers import complete_input, default_scheme

    inp = complete_input(experts=2).model_copy(update={"evidence": ()})
    with pytest.raises(AssessmentIncomplete) as caught:
        score(inp, default_scheme())
    reasons = caught.value.reasons
    assert any(r.startswith("专家组只有 2 人；此决策至少需要 3 人") for r in reasons), reasons
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    english = [translate(r) for r in reasons]
    assert any(e.startswith("expert panel has 2 members; this decision needs at least 3") for e in english), english
    assert not any(re.search(r"[\u4e00-\u9fff]", e) for e in english), english
