"""`matches`: the portable subset, its translation to durable_rules, and agreement with Python."""

from __future__ import annotations

import itertools
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from rules.language.check import check_paths
from rules.language.regex import RegexError, compile_regex, python_only, translate_regex
from rules.language.regex_engine import engine_refusals


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (".*投诉.*", ".*投诉.*"),
        (r"\d{3}-\d+", "%d{3}-%d+"),
        (r"\w+", "[%w_]+"),
        (r"\s", "%s"),
        (r"a\.b", "a%.b"),
        (r"[\w.-]+", "[0-9A-Za-z%._-]+"),
        (r"[\s\d]+", "[%s0-9]+"),
        (r"[-a]", "[a-]"),
        (r"[\^]", "^"),
        ("(?:征地|拆迁)补偿?", "((征地)|(拆迁))补偿?"),
        (".*征地.*|.*拆迁.*", "(.*征地.*)|(.*拆迁.*)"),
        ("x{2,3}", "x{2,3}"),
        ("100%", "100%%"),
    ],
)
def test_translation(pattern: str, expected: str) -> None:
    assert translate_regex(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("^a", "anchor '^' is not supported"),
        ("a$", "anchor '$' is not supported"),
        ("a{1,}", "unbounded"),
        ("a{1,101}", "m ≤ n ≤ 100"),
        (r"\bword\b", r"escape \b is not supported"),
        (r"(a)\1", r"escape \1 is not supported"),
        ("(?=a)", "only plain"),
        ("(?P<x>a)", "only plain"),
        ("a*?", "lazy"),
        ("*a", "nothing to repeat"),
        ("", "non-empty"),
        ("a" * 201, "limit is 200"),
        ("[b-a]", "out of order"),
        ("(a", "missing ')'"),
        ("a)", "unbalanced ')'"),
        ("[]a]", "empty class"),
        ("a\nb", "control characters"),
        ("(a?){1,101}", "m ≤ n ≤ 100"),
        ("[^a]{1,}", "unbounded"),
    ],
)
def test_outside_the_subset(pattern: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The error is Chinese as raised (rules/ knows no language) and English through the catalogue.
    from integrations.i18n import translate
    from integrations.settings import get_settings

    with pytest.raises(RegexError) as caught:
        translate_regex(pattern)
    assert re.search(r"[\u4e00-\u9fff]", str(caught.value)), str(caught.value)
    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    assert message in translate(caught.value.args[0])


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("[^a]+", "取反的字符类（第 1 个字符处）"),
        ("(a?)+", "可匹配空串的分组被重复（第 1 个字符处）"),
        ("x(a*|b)*", "可匹配空串的分组被重复（第 2 个字符处）"),
        ("(a+|b){1,3}", "含重复的分组被重复（第 1 个字符处）"),
        ("(征+)*", "含重复的分组被重复（第 1 个字符处）"),
        ("[一-龥]+", "非 ASCII 的范围（第 1 个字符处）"),
        (r"[\^-]", "只含 '^' 和 '-' 的字符类（第 1 个字符处）"),
    ],
)
def test_inside_the_subset_but_left_to_python(pattern: str, reason: str) -> None:
    """durable_rules gets these wrong (or hangs, or crashes): they are accepted and evaluated in Python."""
    translate_regex(pattern)  # no RegexError: the pattern is in the subset
    assert reason in (python_only(pattern) or "")


@pytest.mark.parametrize("pattern", [".*投诉.*", r"\d{1,3}.+\.{1,3}/", "(ab|cd)+", r"[\w.-]+"])
def test_durable_rules_is_trusted_with_the_rest(pattern: str) -> None:
    assert python_only(pattern) is None


def test_length_limit_is_inclusive() -> None:
    assert translate_regex("a" * 200) == "a" * 200


def test_python_side_uses_ascii_classes() -> None:
    assert compile_regex(r"\w+").fullmatch("abc_1")
    assert not compile_regex(r"\w+").fullmatch("征地")  # as in durable_rules (%w is ASCII)


_CASES: list[tuple[str, list[str]]] = [
    (".*投诉.*", ["我要投诉", "投诉", "没有", ""]),
    (r"\d{3}-\d+", ["123-4", "12-4", "123-", "abc-1"]),
    (r"[\w.-]+", ["a.b-c_1", "a b", "征"]),
    (r"[\s\d]+", ["1 2", " ", "a1"]),
    # durable_rules lets a repeat ending one alternative run on into the next unless each alternative
    # is grouped: these failed before the translation grouped them.
    ("a+|b+", ["ab", "aa", "b"]),
    (r"\d+|[a-z]+", ["1a", "12", "ab"]),
    (r"\w*|.", ["_b}", "}", "ab"]),
    ("(a*|b)c", ["abc", "bc", "aac"]),
    (".*征地.*|.*拆迁.*", ["拆征地", "征拆", "x拆迁"]),
    ("(?:征地|拆迁)补偿?", ["征地补偿", "拆迁补", "征地", "补偿"]),
    (r"a\.b|c\*", ["a.b", "axb", "c*", "c"]),
    ("x{2,3}y?", ["xx", "xxxy", "x", "xxxx"]),
    ("[-a]+", ["a-a", "-", "b"]),
    (r"\s*\w+\s*", [" ab ", "ab", "a b"]),
]


def _durable_matches(pattern: str, value: str, name: str) -> bool:
    """Ask durable_rules itself whether its translated pattern matches ``value``."""
    from durable.engine import Host, MessageNotHandledException

    hits: list[Any] = []

    class _Host(Host):  # type: ignore[misc]
        def _run(self) -> None:
            # No wall-clock dispatch threads: each Host's two re-arm themselves every 0.2 s for the life of
            # the process, and hundreds of Hosts made here slowed every later test. post() answers alone.
            pass

        def get_action(self, action_name: str) -> Any:
            def action(context: Any) -> None:
                hits.append(context)

            return action

    host = _Host()
    rule = {"all": [{"m": {"$mt": {"s": translate_regex(pattern)}}}], "run": "x"}
    host.register_rulesets({name: {"r": rule}})
    try:
        host.post(name, {"s": value})
    except MessageNotHandledException:
        return False
    return bool(hits)


_counter = itertools.count()


@pytest.mark.parametrize(("pattern", "values"), _CASES)
def test_durable_rules_agrees_with_python(pattern: str, values: list[str]) -> None:
    pytest.importorskip("durable.engine")
    python = compile_regex(pattern)
    threads = threading.active_count()
    for value in values:
        expected = python.fullmatch(value) is not None
        assert _durable_matches(pattern, value, f"re{next(_counter)}") == expected, (pattern, value)
    assert threading.active_count() == threads  # no Host left dispatching from timer threads


def test_engine_refusals_name_the_reason() -> None:
    fine, too_big = translate_regex(r".*\d+.*"), translate_regex(r"\d{1,3}.+\.{1,3}/")
    assert engine_refusals([fine, too_big]) == {
        too_big: "对 durable_rules 而言过于复杂（状态过多）；请减少重复或缩小重复次数"
    }


_LEFT_TO_PYTHON = [r"\d{1,3}.+\.{1,3}/", "[^a]+", "(a?)+", "x(a*|b)*", "(a+|b){1,3}", "(征+)*", "[一-龥]+"]


def _check(tmp_path: Path, patterns: list[str]) -> list[str]:
    path = tmp_path / "re.yaml"
    rules = "".join(
        f"  - id: r{i}\n    record: hotline\n    where:\n      descriptor: {{matches: '{p}'}}\n    level: blue\n"
        for i, p in enumerate(patterns)
    )
    path.write_text("ruleset: re\nrules:\n" + rules, encoding="utf-8")
    return check_paths([path], rulebook=Path(__file__).resolve().parents[2] / "rules" / "catalog").lines()


def test_check_accepts_what_durable_rules_gets_wrong(tmp_path: Path) -> None:
    assert _check(tmp_path, _LEFT_TO_PYTHON) == []


def test_check_still_refuses_what_is_outside_the_subset(tmp_path: Path) -> None:
    lines = _check(tmp_path, ["(a)\\1", "^a", "a{1,101}", "(?=a)b", "[^a]{1,}"])
    path = tmp_path / "re.yaml"
    assert [line.split(": ", 1)[0] for line in lines] == [f"{path}:{6 + 5 * i}" for i in range(5)]
    assert "不支持转义 \\1" in lines[0] and "不支持锚点 '^'" in lines[1]
    assert "m ≤ n ≤ 100" in lines[2] and "只支持普通的" in lines[3] and "不支持无上限" in lines[4]


def test_a_crash_of_the_engine_names_the_culprit(monkeypatch: pytest.MonkeyPatch) -> None:
    import rules.language.regex_engine as engine

    crashing = (
        "import json, os, sys\n"
        "patterns = json.load(sys.stdin)\n"
        "if 'boom' in patterns: os.abort()\n"
        "json.dump({'results': dict.fromkeys(patterns)}, sys.stdout)\n"
    )
    monkeypatch.setattr(engine, "_CHECK_SCRIPT", crashing)
    monkeypatch.setattr(engine, "_engine_cache", {})
    assert engine.engine_refusals(["fine", "boom"]) == {"boom": "durable_rules 处理它时崩溃或挂起"}


_CHARS = ["a", "b", "1", " ", "_", "-", ".", "征", "地", "%", "*", "(", "]", "|", "}", "^", "$", "/"]
_SPECIAL = set(".*?()[]|{}^$+\\")


def _patterns() -> Any:
    from hypothesis import strategies as st

    lit = st.sampled_from(_CHARS).map(lambda c: "\\" + c if c in _SPECIAL else c)
    shorthand = st.sampled_from([r"\d", r"\w", r"\s", "."])
    item = st.one_of(
        st.sampled_from(_CHARS).map(lambda c: "\\" + c if c in "]\\[^-" else c),
        st.sampled_from([r"\d", r"\w", r"\s", "a-c", "0-9"]),
    )
    klass = st.lists(item, min_size=1, max_size=3).map(lambda xs: "[" + "".join(xs) + "]")
    quant = st.sampled_from(["", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,2}"])
    atom = st.one_of(lit, shorthand, klass)
    seq = st.lists(st.tuples(atom, quant).map("".join), min_size=1, max_size=4).map("".join)
    group = st.lists(seq, min_size=1, max_size=3).map(lambda xs: "(" + "|".join(xs) + ")")
    grouped = st.tuples(group, st.sampled_from(["", "?", "+", "{1,2}"])).map("".join)
    top = st.lists(st.one_of(seq, grouped), min_size=1, max_size=3).map("".join)
    return st.lists(top, min_size=1, max_size=2).map("|".join)


@pytest.mark.slow
def test_random_patterns_agree_with_durable_rules() -> None:
    """Random patterns of the subset: durable_rules and Python agree on random texts, or the pattern
    is left to Python (rules.language.regex.python_only, or refused by durable_rules' compiler), or refused at
    load time (outside the subset)."""
    pytest.importorskip("durable.engine")
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    texts = st.lists(st.sampled_from(_CHARS), min_size=0, max_size=5).map("".join)

    @settings(max_examples=120, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_patterns(), st.lists(texts, min_size=1, max_size=4))
    def check(pattern: str, values: list[str]) -> None:
        try:
            translated = translate_regex(pattern)
        except RegexError:
            return
        if python_only(pattern) is not None or engine_refusals([translated]):
            return  # evaluated in Python by both engines
        python = compile_regex(pattern)
        for value in values:
            expected = python.fullmatch(value) is not None
            assert _durable_matches(pattern, value, f"rnd{next(_counter)}") == expected, (pattern, value)

    check()


_LEFT_TO_PYTHON_CASES: list[tuple[str, list[str], list[str]]] = [
    # pattern, texts it matches, texts it does not (both engines must say so)
    (r"\d{1,3}.+\.{1,3}/", ["12征地../", "1ab./"], ["12征地", "征地./", "1./"]),
    ("[^a]+", ["征地", "bcd", "b c"], ["a", "ba", ""]),
    (".*[^a]", ["ab", "征", "aa征"], ["a", "aa", ""]),
    ("(a?)+", ["", "a", "aaa"], ["b", "征", "ab"]),
    ("x(a*|b)*", ["x", "xab", "xbba"], ["", "xc", "征x"]),
    ("(a+|b){1,3}", ["a", "aab", "bab"], ["", "bbbb", "abab", "征"]),
    ("(征+)*", ["", "征", "征征征"], ["地", "征地"]),
    ("[一-龥]+地?", ["征地", "拆迁补偿"], ["abc", "征a", ""]),
    (".*[^征地]", ["征x", "拆", "征地拆"], ["征地", "征", ""]),
    (r"[\^-]+", ["^-", "-"], ["a", "征"]),
]


@pytest.mark.parametrize(("pattern", "yes", "no"), _LEFT_TO_PYTHON_CASES)
def test_patterns_left_to_python_agree_on_both_engines(pattern: str, yes: list[str], no: list[str]) -> None:
    """Each pattern durable_rules cannot be trusted with, plain, negated and under ``any``, on the durable
    matcher and the reference matcher: same answers, and the right ones."""
    pytest.importorskip("durable.engine")
    import json

    from rules.engine.compile import compile_kind
    from rules.engine.matching import DurableMatcher, PythonMatcher, build_plan
    from tests.rules.engine_helpers import book

    p = json.dumps(pattern, ensure_ascii=False)
    rules = f"""
    - id: plain
      record: petition
      where: {{subject: {{matches: {p}}}}}
      level: blue
    - id: negated
      record: petition
      where: {{not: {{subject: {{matches: {p}}}}}}}
      level: blue
    - id: mixed
      record: petition
      where: {{people: {{gte: 2}}, any: [{{subject: {{matches: {p}}}}}, {{person: {{eq: p1}}}}]}}
      level: blue
    """
    plan = build_plan(book(rules).rules)
    compiled = compile_kind("petition", plan.checks["petition"])
    assert len(compiled.python) == 3 and len(compiled.definition) == 2  # people and person stay durable
    items = [("petition", {"subject": s, "people": n}) for s in [*yes, *no] for n in (1, 3)]
    items += [("petition", {"people": 3}), ("petition", {"people": 3, "person": "p1"})]
    durable, python = DurableMatcher(plan), PythonMatcher(plan)
    try:
        got, want = durable.match(items), python.match(items)
    finally:
        durable.close()
    assert [set(x) for x in got] == [set(x) for x in want]
    regex = compile_regex(pattern)
    for (_, fields), checks in zip(items, want, strict=True):
        subject = fields.get("subject")
        hit = subject is not None and regex.fullmatch(subject) is not None
        mixed = fields["people"] >= 2 and (hit or fields.get("person") == "p1")
        assert (0 in checks) is hit and (1 in checks) is (not hit) and (2 in checks) is mixed, (pattern, fields)
    assert [s for s in yes if not regex.fullmatch(s)] == [] and [s for s in no if regex.fullmatch(s)] == []
