"""Hardening: no regex hangs evaluation, and one bad rule file stops only its own rules.

Each test is bounded in time (the ``bounded`` fixture): a regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.records import Record
from rules.engine.conditions import holds
from rules.engine.evaluate import Evaluator
from rules.language.conditions_ast import FieldTest, Op
from rules.language.loader import load_rulebook
from rules.language.regex import RegexError, compile_regex
from rules.language.yaml_safe import MAX_BYTES
from tests.rules.conftest import RULEBOOK

Write = Callable[[str, str], Path]
RULE = """
ruleset: slow
rules:
  - id: slow-text
    title: 慢正则
    record: hotline
    where: {{category: {{matches: "{pattern}"}}}}
    level: blue
    summary: s
"""


@pytest.mark.parametrize("text", ["a" * 26 + "c", "a" * 100_000 + "c"])
def test_backtracking_pattern_runs_in_linear_time(bounded: None, text: str) -> None:
    test = FieldTest(field="category", op=Op.matches, value="(a+)+")
    assert not holds(test, {"category": text})
    assert holds(test, {"category": "a" * 100_000})


@pytest.mark.parametrize("engine", ["reference", "durable"])
def test_both_engines_survive_a_backtracking_pattern(bounded: None, write: Write, engine: str) -> None:
    path = write("slow.yaml", RULE.format(pattern="(a+)+"))
    rulebook = load_rulebook([path], rulebook=RULEBOOK)
    assert rulebook.ok, rulebook.errors
    at = datetime(2026, 4, 1, tzinfo=UTC)
    records = [Record(kind="hotline", source="t", id=str(i), at=at, region="510104001001",
                      attributes={"category": "a" * n + "c"}) for i, n in enumerate((26, 30_000))]
    records.append(Record(kind="hotline", source="t", id="m", at=at, region="510104001001",
                          attributes={"category": "aaaa"}))
    evaluator = Evaluator(rulebook, engine=engine)
    try:
        changes = evaluator.feed(records)
    finally:
        evaluator.close()
    assert [w.records for w, _ in changes] == [("hotline/t/m",)] or len(changes) == 1


def test_pattern_re2_cannot_compile_is_refused_at_load() -> None:
    with pytest.raises(RegexError, match="过于复杂，无法安全匹配"):
        compile_regex("(a{100}){100}")


def test_whitespace_class_is_pythons(bounded: None) -> None:
    assert compile_regex(r"a\sb").fullmatch("a\x0bb")
    assert compile_regex(r"a[\s-]b").fullmatch("a\x0bb")
    assert not compile_regex(r"\w+").fullmatch("征地")


# -- one bad file stops only itself ---------------------------------------------------------------


def _nested(levels: int) -> str:
    cond = "{category: {eq: noise}}"
    for i in range(levels):
        cond = "{not: " + cond + "}" if i % 2 else "{any: [" + cond + "]}"
    return f"ruleset: deep\nrules:\n  - id: deep-rule\n    title: t\n    record: hotline\n    where: {cond}\n" \
           "    level: blue\n    summary: s\n"


def _good(write: Write) -> Path:
    return write("good.yaml", RULE.format(pattern="a+"))


@pytest.mark.parametrize(
    ("levels", "message"),
    [(33, "deep.yaml:6: 'any' 和 'not' 嵌套超过 32 层"),
     (300, "deep.yaml:6: 映射和列表嵌套超过 100 层")],
)
def test_deep_nesting_is_an_error_of_its_file(bounded: None, write: Write, levels: int, message: str) -> None:
    good = _good(write)
    write("deep.yaml", _nested(levels))
    rulebook = load_rulebook([good.parent], rulebook=RULEBOOK)
    assert [r.id for r in rulebook.rules] == ["slow-text"]
    assert len(rulebook.errors) == 1 and message in str(rulebook.errors[0])
    assert rulebook.failed == (str(good.parent / "deep.yaml"),) or rulebook.failed[0].endswith("deep.yaml")


def test_32_levels_load(write: Write) -> None:
    rulebook = load_rulebook([write("deep.yaml", _nested(32))], rulebook=RULEBOOK)
    assert rulebook.ok, rulebook.errors


@pytest.mark.parametrize(("raw", "line"), [(b"ruleset: x\nrules: []\x00\n", 2), (b"ruleset: x\x1b\n", 1),
                                           (b"ruleset: x\nrules: [\xef\xbf\xbe]\n", 2)])
def test_control_characters_are_an_error_of_their_file(write: Write, raw: bytes, line: int) -> None:
    good = _good(write)
    (good.parent / "bad.yaml").write_bytes(raw)
    rulebook = load_rulebook([good.parent], rulebook=RULEBOOK)
    assert [r.id for r in rulebook.rules] == ["slow-text"]
    (error,) = rulebook.errors
    assert error.file.endswith("bad.yaml") and error.line == line, error


def test_huge_file_is_refused_before_reading(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _good(write)
    huge = good.parent / "huge.yaml"
    with huge.open("wb") as f:  # sparse: 20 GB on paper, nothing on disk
        f.truncate(20 * 2**30)
    real_read_bytes, real_open = Path.read_bytes, Path.open

    def no_read(self: Path, *args: object, **kwargs: object) -> object:
        assert self != huge, "the huge file was read"
        return real_read_bytes(self) if not args and not kwargs else real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_bytes", no_read)
    monkeypatch.setattr(Path, "open", no_read)
    rulebook = load_rulebook([good.parent], rulebook=RULEBOOK)
    assert [r.id for r in rulebook.rules] == ["slow-text"]
    (error,) = rulebook.errors
    assert error.file.endswith("huge.yaml") and f"文件大于 {MAX_BYTES} 字节" in error.message


def test_version_names_the_failed_files(write: Write) -> None:
    good = _good(write)
    whole = load_rulebook([good.parent], rulebook=RULEBOOK)
    (good.parent / "bad.yaml").write_bytes(b"ruleset: x\x00\n")
    partial = load_rulebook([good.parent], rulebook=RULEBOOK)
    assert partial.rules == whole.rules
    assert whole.failed == () and len(partial.failed) == 1 and partial.failed[0].endswith("bad.yaml")
    assert partial.version != whole.version



def test_rulebook_error_id_is_reserved(write: Write) -> None:
    text = RULE.format(pattern="a+").replace("id: slow-text", "id: rulebook-error")
    rulebook = load_rulebook([write("mine.yaml", text)], rulebook=RULEBOOK)
    (error,) = rulebook.errors
    assert error.line == 3 and "保留给规则库错误使用" in error.message
