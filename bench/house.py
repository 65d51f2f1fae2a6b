"""Measure the house: file counts and lines per package, module sizes, the longest functions, imports across
packages and against the layers, and import cycles.

Run from the project root (``uv run python bench/house.py``) or on another tree
(``uv run python bench/house.py path/to/tree``). It reads the source with :mod:`ast` and imports nothing of
it, so it measures a broken tree as readily as a sound one. Every import statement counts, including those
inside functions and under ``TYPE_CHECKING``: a lazy import hides a cycle from Python, not from the reader.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("domain", "rules", "integrations", "flows")
"""The project's root packages, lowest layer first: a package may import those before it, not after."""

SOFT_LIMIT = 300
"""Modules should stay under this many lines (the project's rule)..."""
HARD_LIMIT = 400
"""...and never go over this many."""

Graph = dict[str, set[str]]
"""Module name -> the project modules it imports."""


@dataclass(frozen=True)
class Module:
    """One python file of the tree."""

    name: str
    path: str  # relative to the root, for the report
    is_package: bool  # an __init__.py
    lines: int
    tree: ast.Module


def module_name(root: Path, path: Path) -> tuple[str, bool]:
    """The dotted name of ``path`` under ``root``, and whether it is a package's ``__init__``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def load(root: Path, packages: Sequence[str] = PACKAGES) -> dict[str, Module]:
    """Every python file of ``packages`` under ``root``, parsed, by module name."""
    modules: dict[str, Module] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            name, is_package = module_name(root, path)
            rel = path.relative_to(root).as_posix()
            modules[name] = Module(name, rel, is_package, len(text.splitlines()), ast.parse(text, filename=rel))
    return modules


def _resolve(name: str, modules: Mapping[str, Module]) -> str | None:
    """The longest prefix of ``name`` that is a module of the tree (``a.b.func`` -> ``a.b``), if any."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _base_of(module: Module, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names, relative imports resolved against ``module``."""
    if node.level == 0:
        return node.module or ""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    anchor = package[: len(package) - (node.level - 1)]
    return ".".join([*anchor, node.module] if node.module else anchor)


def imports_of(module: Module, modules: Mapping[str, Module]) -> set[str]:
    """The modules of the tree that ``module`` imports (``from a.b import c`` counts ``a.b.c`` when that is a
    module, else ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(module.tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _base_of(module, node)
            targets = [f"{base}.{alias.name}" if base else alias.name for alias in node.names]
        for target in targets:
            resolved = _resolve(target, modules)
            if resolved is not None and resolved != module.name:
                found.add(resolved)
    return found


def import_graph(modules: Mapping[str, Module]) -> Graph:
    """Who imports whom, among the modules of the tree."""
    return {name: imports_of(module, modules) for name, module in modules.items()}


def longest_functions(modules: Mapping[str, Module], n: int = 10) -> list[tuple[int, str]]:
    """The ``n`` longest functions and methods (nested ones included) as (lines, ``path:line name``)."""
    found: list[tuple[int, str]] = []
    for module in modules.values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                found.append((length, f"{module.path}:{node.lineno} {node.name}"))
    return sorted(found, key=lambda f: (-f[0], f[1]))[:n]


def _top(name: str) -> str:
    return name.split(".")[0]


def cross_package(graph: Graph) -> Counter[tuple[str, str]]:
    """How many module-to-module imports go from one root package to another."""
    return Counter((_top(a), _top(b)) for a, bs in graph.items() for b in bs if _top(a) != _top(b))


def against_layers(graph: Graph, packages: Sequence[str] = PACKAGES) -> list[str]:
    """The imports from a lower layer to a higher one, as ``a -> b``."""
    layer = {p: i for i, p in enumerate(packages)}
    return sorted(f"{a} -> {b}" for a, bs in graph.items() for b in bs if layer[_top(b)] > layer[_top(a)])


def cycles(graph: Graph) -> list[list[str]]:
    """The import cycles: strongly connected components of more than one module (Tarjan's algorithm,
    iterative so a deep tree cannot overflow the stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def successors(v: str) -> Iterator[str]:
        return iter(sorted(w for w in graph.get(v, ()) if w in graph))

    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, successors(start))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, todo = work[-1]
            for w in todo:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, successors(w)))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return sorted(components)


def report(root: Path, packages: Sequence[str] = PACKAGES) -> list[str]:
    """The house's measures for the tree at ``root``, as the lines to print."""
    modules = load(root, packages)
    graph = import_graph(modules)
    out = [f"python files: {len(modules)} lines: {sum(m.lines for m in modules.values())}"]
    per_package = [
        f"{p} {sum(1 for m in modules.values() if _top(m.name) == p)} files "
        f"{sum(m.lines for m in modules.values() if _top(m.name) == p)} lines"
        for p in packages
    ]
    out.append("per package: " + ", ".join(per_package))
    sizes = sorted(((m.lines, m.path) for m in modules.values()), key=lambda s: (-s[0], s[1]))
    over_soft = [(n, p) for n, p in sizes if n > SOFT_LIMIT]
    over_hard = [(n, p) for n, p in sizes if n > HARD_LIMIT]
    out.append(f"modules over {SOFT_LIMIT} lines: {len(over_soft)} over {HARD_LIMIT}: {len(over_hard)}")
    out.extend(f"   {n:4d} {p}" for n, p in over_soft)
    out.append("largest: " + ", ".join(f"{p} {n}" for n, p in sizes[:5]))
    out.append("longest functions:")
    out.extend(f"   {n:4d} {f}" for n, f in longest_functions(modules))
    out.append(f"cross-package imports: {dict(sorted(cross_package(graph).items()))}")
    up = against_layers(graph, packages)
    out.append(f"imports against the layers (lower imports higher): {len(up)}")
    out.extend(f"   {u}" for u in up)
    found = cycles(graph)
    out.append(f"import cycles: {len(found)}")
    out.extend(f"   {' <-> '.join(c)}" for c in found)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Print the house's measures for the tree given (the current directory by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("root", nargs="?", default=".", type=Path, help="the tree to measure")
    args = parser.parse_args(argv)
    print("\n".join(report(args.root)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
