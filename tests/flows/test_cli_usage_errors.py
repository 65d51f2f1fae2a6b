"""Usage errors (a mistyped option or command, a missing argument, a value of the wrong type) in the language
in force, never the library's English in a Chinese terminal."""

from __future__ import annotations

import json
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

_RUN_ALL = """
import contextlib, io, json, sys
from flows.cli import app

said = []
for args in json.loads(sys.argv[1]):
    err = io.StringIO()
    code = None
    with contextlib.redirect_stderr(err):
        try:
            app(args, prog_name="fenghuo")
        except SystemExit as exc:
            code = exc.code
    said.append([code, err.getvalue()])
print(json.dumps(said, ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def said() -> dict[str, list[str]]:
    """What each case wrote to stderr, by language. A process of its own per language: the command tree's
    texts are translated when it imports; within it, the cases run one after the other as `fenghuo` runs
    them (Typer's standalone mode, its error on stderr and exit code 2)."""
    out: dict[str, list[str]] = {}
    for lang in ("zh", "en"):
        env = {**os.environ, "FENGHUO_LANG": lang, "COLUMNS": "200"}
        done = subprocess.run([sys.executable, "-c", _RUN_ALL, json.dumps([c[0] for c in CASES])],
                              capture_output=True, text=True, env=env, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        results = json.loads(done.stdout)
        assert [code for code, _ in results] == [2] * len(CASES), results
        out[lang] = [" ".join(text.replace("│", " ").split()) for _, text in results]
    return out


@pytest.mark.parametrize(("case", "chinese", "english"), [(i, zh, en) for i, (_, zh, en) in enumerate(CASES)],
                         ids=[" ".join(c[0]) for c in CASES])
def test_a_usage_error_reads_in_the_language_in_force(said: dict[str, list[str]], case: int, chinese: str,
                                                      english: str) -> None:
    zh = said["zh"][case]
    assert chinese in zh and "Invalid value" not in zh and "No such" not in zh, zh
    assert english in said["en"][case], said["en"][case]


def test_a_shape_it_does_not_know_is_shown_as_written() -> None:
    assert usage_error_text("Something new happened.") == "Something new happened."
