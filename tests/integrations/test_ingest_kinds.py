"""load_kinds: the ingest's record kinds are exactly the rulebook loader's, without loading the rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from integrations.ingest.run import load_kinds
from integrations.settings import PACKAGE_ROOT
from rules.language.loader import load_rulebook

SHIPPED = PACKAGE_ROOT / "rules"


def _book(tmp_path: Path, kinds_name: str | None, kinds_text: str | None = None) -> Path:
    """A rulebook folder ``tmp/rules/catalog`` with the shipped rules and a kinds file where asked."""
    catalog = tmp_path / "rules" / "catalog"
    shutil.copytree(SHIPPED / "catalog", catalog)
    shutil.copy(SHIPPED / "calendars.yaml", tmp_path / "rules" / "calendars.yaml")
    if kinds_name is not None:
        text = kinds_text if kinds_text is not None else (SHIPPED / "kinds.yaml").read_text(encoding="utf-8")
        (tmp_path / kinds_name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / kinds_name).write_text(text, encoding="utf-8")
    return catalog


def test_shipped_rulebook() -> None:
    book = SHIPPED / "catalog"
    kinds = load_kinds(book)
    assert kinds == load_rulebook([book], book).kinds and "petition" in kinds.kinds


SMALL = "kinds:\n  petition:\n    fields: {person: string, people: int}\npersonal: [person]\n"


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("rules/kinds.yaml", SMALL),  # beside the rulebook folder (the shipped layout)
        ("rules/catalog/kinds.yaml", SMALL),  # inside it
        ("rules/catalog/our-kinds.yaml", SMALL),  # inside, under another name: found by the loader only
        ("rules/kinds.yaml", "kinds: [not, a, mapping]\n"),  # broken: the loader's answer (no kinds)
        ("rules/kinds.yaml", "kinds:\n  petition:\n    fields: {person: nonsense}\n"),
    ],
)
def test_same_kinds_as_the_loader(tmp_path: Path, where: str, text: str) -> None:
    book = _book(tmp_path, where, text)
    expected = load_rulebook([book], book).kinds
    assert load_kinds(book) == expected
    assert ("petition" in expected.kinds) == (text == SMALL)
