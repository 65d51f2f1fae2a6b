"""Helpers for the rule-language tests: write rule files into a temporary folder and check them. The stores
(``engine``, ``sqlite_engine``) are copies of a store migrated once per test process (tests/store_templates.py)."""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rules.language.check import CheckResult, check_paths
from tests.store_templates import engine, migrated_url, pg_templates, sqlite_engine, store_templates

__all__ = ["engine", "migrated_url", "pg_templates", "sqlite_engine", "store_templates"]

REPO = Path(__file__).resolve().parents[2]
RULEBOOK = REPO / "rules" / "catalog"


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write(name, yaml_text)`` → path of a dedented file in a fresh folder."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def check() -> Callable[..., CheckResult]:
    """``check(path, ...)``: check these PATHs against the shipped kinds and calendars."""

    def _check(*paths: Path) -> CheckResult:
        return check_paths(list(paths), rulebook=RULEBOOK)

    return _check


@pytest.fixture
def bounded() -> Iterator[None]:
    """Fail (not hang) when the test runs past 20 seconds (``signal.alarm``: a hang must not hang the suite)."""

    def _timeout(signum: int, frame: object) -> None:
        raise TimeoutError("took more than 20 s")

    old = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
