"""Usage errors (a mistyped option or command, a missing argument, a value of the wrong type) in the language
in force, never the library's English in a Chinese terminal."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from flows.cli_usage_errors import usage_error_text

CASES = [
    (["warnings", "list", "--limit", "abc"], "'--limit' 的值无效：应为整数", "Invalid value for '--limit'"),
    (["warnings", "list", "--bogus"], "没有选项 --bogus", "No such option --bogus"),
    (["warnings", "lis"], "没有命令 'lis'。 是否想用 'list'？", "Did you mean 'list'?"),
    (["warnings", "show"], "缺少参数 'warning_id'。", "Missing argument 'warning_id'."),
    (["warnings", "list", "--limit"], "选项 '--limit' 需要一个值。", "Option '--limit' requires a value."),
    (["warnings", "show", "1", "2"], "多余的参数（2）。", "Unexpected extra arguments (2)."),
]


def _run(args: list[str], lang: str) -> str:
    # A process of its own per language: the command tree's texts are translated when it imports.
    env = {**os.environ, "FENGHUO_LANG": lang, "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    return " ".join(done.stderr.replace("│", " ").split())


@pytest.mark.parametrize(("args", "chinese", "english"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_a_usage_error_reads_in_the_language_in_force(args: list[str], chinese: str, english: str) -> None:
    said = _run(args, "zh")
    assert chinese in said and "Invalid value" not in said and "No such" not in said, said
    assert english in _run(args, "en")


def test_a_shape_it_does_not_know_is_shown_as_written() -> None:
    assert usage_error_text("Something new happened.") == "Something new happened."
