"""``fenghuo rules check``: validate rule files and report ``FILE:LINE: message`` lines.

Errors come from the loader; warnings (``FILE:LINE: warning: …``, language 1.1) from
:mod:`rules.language.lint` over the files that loaded. Warnings do not change the exit code unless the
check is strict. A plain function for the CLI (flows/cli.py) and for tests; nothing here imports Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rules.language.diagnostics import RuleError
from rules.language.lint import lint_rulebook
from rules.language.loader import Rulebook, load_rulebook


@dataclass(frozen=True)
class CheckResult:
    """What a check found: the errors and warnings, how many YAML files were read, how many rules are valid."""

    errors: tuple[RuleError, ...]
    files: int
    rules: int
    rulebook: Rulebook
    warnings: tuple[RuleError, ...] = ()
    strict: bool = False
    """Warnings count as errors (``--strict``)."""

    @property
    def ok(self) -> bool:
        """True when there is no error, nor, when strict, a warning (the CLI exits 0)."""
        return not self.errors and not (self.strict and self.warnings)

    def lines(self) -> list[str]:
        """One ``FILE:LINE: message`` line per error or warning, sorted by file and line."""
        return [str(e) for e in sorted(self.errors + self.warnings)]

    def summary(self) -> str:
        """A closing line such as ``3 files, 12 rules, 0 errors, 1 warning``."""
        line = f"{self.files} files, {self.rules} rules, {len(self.errors)} errors"
        if self.warnings or self.strict:
            line += f", {len(self.warnings)} warnings"
        return line + (" (--strict: warnings count as errors)" if self.strict else "")


def check_paths(paths: list[Path] | None = None, rulebook: Path | None = None, strict: bool = False) -> CheckResult:
    """Validate the rule files under ``paths`` (default: the configured rulebook)."""
    book = load_rulebook(paths or None, rulebook=rulebook)
    warnings = tuple(lint_rulebook(book.files, book.kinds))
    return CheckResult(errors=book.errors, files=len(book.checked), rules=len(book.rules), rulebook=book,
                       warnings=warnings, strict=strict)
