"""The repository stands alone: nothing outside ``docs/`` reads or points at the project brief beside the checkout.

A clone without the brief's folder next to it must run the demo, the tests and every command the README
lists. The one exception is ``tests/integrations/test_cap.py``, which validates CAP alerts against the
official schema files kept there and skips with a reason when they are absent.
"""

from __future__ import annotations

import re
from pathlib import Path

from integrations.settings import PACKAGE_ROOT

# "..", "/" and the folder's name are split so that this file does not match its own patterns.
_SHARED = "shared"
PATTERNS = (
    re.compile(re.escape(".." + "/" + _SHARED) + r"\b"),  # ../shared in a path, a command or a link
    re.compile(re.escape(_SHARED + "/" + "data") + r"\b"),  # shared/data/… named without the dots
    re.compile(r"""["']\.\.["']\s*/\s*["']""" + _SHARED + r"""["']"""),  # Path(...) / ".." / "shared"
    re.compile(r"""\.parent\s*/\s*["']""" + _SHARED + r"""["']"""),  # ROOT.parent / "shared"
)
TEXT_SUFFIXES = {".py", ".pyi", ".c", ".md", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".txt", ".json", ".sh", ""}
SKIP_DIRS = {".git", ".venv", ".fenghuo", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
             ".hypothesis", "build", "dist", "docs"}
ALLOWED = {Path("tests/integrations/test_cap.py"), Path("tests/test_standalone.py")}


def references_to_shared(root: Path) -> list[str]:
    """``PATH:LINE: text`` for every line under ``root`` (outside docs/ and the allowed files) that
    depends on the brief's folder beside the checkout."""
    found: list[str] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if (not path.is_file() or rel in ALLOWED or path.suffix not in TEXT_SUFFIXES
                or any(part in SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts[:-1])):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if any(p.search(line) for p in PATTERNS):
                found.append(f"{rel}:{number}: {line.strip()}")
    return found


def test_nothing_outside_docs_depends_on_the_brief_folder() -> None:
    found = references_to_shared(PACKAGE_ROOT)
    assert not found, "these lines depend on ../" + _SHARED + " (copy what they need into the repository):\n" + (
        "\n".join(found))


def test_the_guard_finds_each_way_of_naming_the_folder(tmp_path: Path) -> None:
    lines = [
        "see ../" + _SHARED + "/RULES.md",
        'DATA = ROOT.parent / "' + _SHARED + '" / "data"',
        "DATA = HERE / '..' / '" + _SHARED + "' / 'data'",
        "folder: ${package_root}/../" + _SHARED + "/data/nyc311",
        "# samples in " + _SHARED + "/data/nyc311",
    ]
    for i, line in enumerate(lines):
        (tmp_path / "flows").mkdir(exist_ok=True)
        (tmp_path / "flows" / f"m{i}.py").write_text(line + "\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("a shared cache, shared/other and data/nyc311 are fine\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "design.md").write_text("from ../" + _SHARED + "/DESIGN.md\n", encoding="utf-8")
    (tmp_path / "tests" / "integrations").mkdir(parents=True)
    (tmp_path / "tests" / "integrations" / "test_cap.py").write_text('"..", "' + _SHARED + '"\n', encoding="utf-8")
    found = references_to_shared(tmp_path)
    assert [f.split(":")[0] for f in found] == [f"flows/m{i}.py" for i in range(len(lines))]
