"""``fenghuo rules check``: validate rule files and report ``FILE:LINE: message`` lines.

A plain function for the CLI (flows/cli.py) and for tests; nothing here imports Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rules.language.diagnostics import RuleError
from rules.language.loader import Rulebook, load_rulebook


@dataclass(frozen=True)
class CheckResult:
    """What a check found: the errors, how many YAML files were read, how many rules are valid."""

    errors: tuple[RuleError, ...]
    files: int
    rules: int
    rulebook: Rulebook

    @property
    def ok(self) -> bool:
        """True when there is no error (the CLI exits 0)."""
        return not self.errors

    def lines(self) -> list[str]:
        """One ``FILE:LINE: message`` line per error, sorted by file and line."""
        return [str(e) for e in self.errors]

    def summary(self) -> str:
        """A closing line such as ``3 files, 12 rules, 0 errors``."""
        return f"{self.files} files, {self.rules} rules, {len(self.errors)} errors"


def check_paths(paths: list[Path] | None = None, rulebook: Path | None = None) -> CheckResult:
    """Validate the rule files under ``paths`` (default: the configured rulebook)."""
    book = load_rulebook(paths or None, rulebook=rulebook)
    return CheckResult(errors=book.errors, files=len(book.checked), rules=len(book.rules), rulebook=book)
