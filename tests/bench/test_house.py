"""The house's measures find what is planted in a tiny tree: a cycle, a long module, an upward import."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import house  # bench/ is not a package: found through sys.path


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _plant(root: Path) -> None:
    for package in house.PACKAGES:
        _write(root, f"{package}/__init__.py", "")
    # A cycle through an absolute and a relative import; a lazy import counts too.
    lazy = "def feed():\n    from integrations.cap_feed import render\n    return render\n"
    _write(root, "integrations/cap.py", lazy)
    _write(root, "integrations/cap_feed.py", "from .cap import feed\n\nrender = feed\n")
    # A one-way chain, which is no cycle.
    _write(root, "rules/engine.py", "from domain.kinds import KINDS\n")
    _write(root, "domain/kinds.py", "KINDS = ()\n")
    # A module over 400 lines, holding a 350-line function.
    _write(root, "rules/long.py", "def big():\n" + "    x = 1\n" * 349 + "\n" * 60)
    # A lower layer importing a higher one.
    _write(root, "domain/privacy.py", "from integrations import cap\n")


def test_finds_the_planted_cycle_long_module_and_upward_import(tmp_path: Path) -> None:
    _plant(tmp_path)
    modules = house.load(tmp_path)
    graph = house.import_graph(modules)

    assert house.cycles(graph) == [["integrations.cap", "integrations.cap_feed"]]
    assert house.against_layers(graph) == ["domain.privacy -> integrations.cap"]
    assert house.longest_functions(modules, 1) == [(350, "rules/long.py:1 big")]
    assert house.cross_package(graph) == {("rules", "domain"): 1, ("domain", "integrations"): 1}

    lines = house.report(tmp_path)
    assert "modules over 300 lines: 1 over 400: 1" in lines
    assert "    410 rules/long.py" in lines
    assert "import cycles: 1" in lines
    assert "   integrations.cap <-> integrations.cap_feed" in lines


def test_a_longer_cycle_is_one_component(tmp_path: Path) -> None:
    """Three modules in a ring, and one hanging off it, give one cycle of three."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert house.cycles(graph) == [["a", "b", "c"]]
    assert house.cycles({"a": {"b"}, "b": set()}) == []


def test_runs_on_the_project() -> None:
    """The script runs on this tree and finds the four root packages."""
    lines = house.report(Path(__file__).resolve().parents[2])
    assert lines[0].startswith("python files: ")
    assert all(f"{p} " in lines[1] for p in house.PACKAGES)
