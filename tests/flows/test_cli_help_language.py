"""Every command's ``--help`` in one language: no English sentence in the default (Chinese) help, no
Chinese left in ``FENGHUO_LANG=en`` help beyond the Chinese terms and examples it quotes.

Help texts are translated when the command modules import, so each language is one fresh process that
walks the whole command tree and returns every page as JSON.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

_DUMP = """
import json
from typer.main import get_command
from typer.testing import CliRunner
from flows.cli import app

root = get_command(app)
runner = CliRunner()
pages = {}

def walk(command, path):
    pages[" ".join(path)] = runner.invoke(app, [*path, "--help"], terminal_width=100).output
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        walk(sub, [*path, name])

walk(root, [])
print(json.dumps(pages, ensure_ascii=False))
"""

ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[ ,;:/]+[A-Za-z][A-Za-z'’]*){2,}")
"""Three or more English words in a row: a sentence, not a name."""
CODE = re.compile(
    r"fenghuo(?: [a-z-]+)*"  # a command line quoted in the help
    r"|--?[A-Za-z][\w-]*"  # option names
    r"|<[^>]*>"  # metavars and type hints
    r"|\[[A-Z_ .]+\]"  # [OPTIONS], [ARGS]...
    r"|\b[A-Z][A-Z_]+\b"  # FILE, NAME, COMMAND
    r"|Authorization: Bearer"  # the header a feed reader sends, written as it is sent
)
CJK = re.compile(r"[\u3400-\u9fff]")
QUOTED_CHINESE = ("烽火", "社会稳定风险评估", "考核", "台账", "水井坊片区拆迁安置项目", "区政府常务会议", "江果桥街道",
                  "解除矫正", "迁出", "去世", "周一", "不属实", "属实", "已化解", "需上报")
"""Chinese the English help keeps on purpose: the product's name, official terms, examples of input and the
Chinese values a command accepts."""


def _pages(lang: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FENGHUO_LANG", "COLUMNS")}
    if lang:
        env["FENGHUO_LANG"] = lang
    done = subprocess.run([sys.executable, "-c", _DUMP], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    pages: dict[str, str] = json.loads(done.stdout)
    assert len(pages) > 60 and "rules check" in pages and "assess new" in pages  # the whole tree was walked
    return pages


def _english_sentences(page: str) -> list[str]:
    lines = [line for line in page.splitlines() if not line.strip().startswith(("用法：", "Usage:"))]
    return ENGLISH_RUN.findall(CODE.sub(" ", "\n".join(lines)))


@pytest.fixture(scope="module")
def chinese() -> dict[str, str]:
    """Every help page in the default language."""
    return _pages(None)


@pytest.fixture(scope="module")
def english() -> dict[str, str]:
    """Every help page with FENGHUO_LANG=en."""
    return _pages("en")


def test_no_help_page_holds_an_english_sentence_by_default(chinese: dict[str, str]) -> None:
    found = {path or "fenghuo": hits for path, page in chinese.items() if (hits := _english_sentences(page))}
    assert not found, found
    assert "显示本帮助并退出。" in chinese["warnings list"] and "选项" in chinese["warnings list"]


def test_the_check_catches_an_english_sentence() -> None:
    assert _english_sentences("│ --strict  <bool>  warnings are errors (exit 1 on any) │") == ["warnings are errors"]
    assert _english_sentences("│ --as  <str>  您的工作台账号（fenghuo users list） │") == []


def test_every_help_page_is_english_on_request(english: dict[str, str]) -> None:
    leftover = {}
    for path, page in english.items():
        text = page
        for term in QUOTED_CHINESE:
            text = text.replace(term, "")
        if CJK.search(text):
            leftover[path or "fenghuo"] = [line for line in text.splitlines() if CJK.search(line)]
    assert not leftover, leftover
    assert "Show this message and exit." in english["rules check"] and "Options" in english["rules check"]
    assert "warnings are errors" in english["rules check"]


def test_a_help_page_is_chinese_by_default_and_english_on_request(chinese: dict[str, str],
                                                                  english: dict[str, str]) -> None:
    """One page's own words in each language (the walks above only look for the other language's)."""
    assert "预警工作台账号" in chinese["users"] and "为名录中的责任人创建账号" in chinese["users"], chinese["users"]
    assert "Web workspace accounts" in english["users"] and "Create an account for a responder" in english["users"]
    assert "预警工作台账号" not in english["users"]
