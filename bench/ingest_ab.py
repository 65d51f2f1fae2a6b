"""A/B of the ingest between two git revisions: records/s of ``ingest_source``, before and after, in one run.

Run: ``uv run python bench/ingest_ab.py --before 48e5e48 [--after HEAD] [--rounds 5] [--scale 4]
[--backend sqlite|postgresql|both] [--url postgresql+psycopg://127.0.0.1:5432/test] [--no-settle-gc]``

Each revision is checked out into a temporary git worktree (removed afterwards) and its C extension
compiled there with the same compiler flags for both. Every measurement is a fresh process with the
revision's folder first on ``sys.path`` (it checks that its code is that folder's), running under this
project's virtual environment: it starts that revision's simulator of the departments, opens a new store
(a SQLite file, or a fresh PostgreSQL schema dropped afterwards), and times that revision's
``ingest_source`` over every department (imports, the simulator's start and the migrations are not
timed; the garbage they left is collected before the clock starts, unless ``--no-settle-gc``). Rounds
alternate the order (before then after, after then before…), so a drift of this shared machine's speed
weighs on both sides alike. Printed per backend: every run, each side's median, the
ratio after ÷ before of the medians and of each round's pair (their median too), the same by the
probe's CPU time, and the load average at the start and end of each round: figures taken under load
are only comparable as such ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# One measurement, run in a fresh process inside a revision's worktree (argv: worktree, store URL, scale,
# page size, settle). Only what both revisions have: ingest_source, build_sources, the simulator, open_store.
# With settle, one full collection before the clock starts: the heap of the imports and the migrations is
# then old for both sides alike. Without it, whether the interpreter's next full collection (~160 ms over
# that heap) falls inside the timed region depends on how many young collections the revision's imports
# happened to make, not on its ingest (bench/README.md, ingest seam, 2026-12-06).
PROBE = r"""
import gc, json, subprocess, sys, time
tree, url, scale, page_size, settle = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
import integrations
assert integrations.__file__.startswith(tree), f"code from {integrations.__file__}, not {tree}"
from domain.kinds import RecordKinds
from integrations.ingest import speedups
from integrations.ingest.run import build_sources, ingest_source
from integrations.settings import PACKAGE_ROOT, Settings
from integrations.sources import DEPARTMENTS
from integrations.store.db import open_store

kinds = RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")
sim = subprocess.Popen([sys.executable, "-m", "integrations.simulator", "--port", "0", "--bad-rate", "0",
                        "--seed", "1", "--scale", scale], stdout=subprocess.PIPE, text=True, cwd=tree)
try:
    sim_url = json.loads(sim.stdout.readline())["url"]
    engine = open_store(url)
    sources = build_sources(Settings(simulator_url=sim_url), [d.name for d in DEPARTMENTS])
    if settle:
        gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for src in sources:
        n += ingest_source(engine, src, kinds=kinds, key="k", page_size=page_size).inserted
        src.close()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    engine.dispose()
finally:
    sim.terminate()
    sim.wait()
print(json.dumps({"records": n, "wall": wall, "cpu": cpu, "c_twins": speedups.UNAVAILABLE is None}))
"""


def _git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _build_extension(tree: Path) -> None:
    """The revision's C extension, compiled in place (same flags on both sides; none: the Python twins)."""
    source = tree / "integrations" / "ingest" / "_speedups.c"
    if not source.exists():
        return
    target = source.with_name("_speedups" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run(
        [
            "cc",
            "-O2",
            "-fPIC",
            "-shared",
            f"-I{sysconfig.get_path('include')}",
            str(source),
            "-lcrypto",
            "-o",
            str(target),
        ],
        check=True,
    )


@contextmanager
def _worktree(rev: str, root: Path) -> Iterator[Path]:
    """``rev`` checked out (detached) into a temporary worktree, its extension built; removed afterwards."""
    tree = root / rev.replace("/", "_")
    _git("worktree", "add", "--detach", "--force", str(tree), rev)
    try:
        _build_extension(tree)
        yield tree
    finally:
        _git("worktree", "remove", "--force", str(tree))


@contextmanager
def _store(backend: str, url: str, tmp: Path, tag: str) -> Iterator[str]:
    """An empty store: a new SQLite file, or a fresh PostgreSQL schema (dropped afterwards)."""
    if backend == "sqlite":
        path = tmp / f"{tag}.db"
        yield f"sqlite:///{path}"
        path.unlink(missing_ok=True)
        return
    import sqlalchemy as sa

    schema = f"ab_{tag}"
    admin = sa.create_engine(url)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def _measure(tree: Path, store_url: str, scale: float, page_size: int, settle: bool) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("FENGHUO_DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tree), store_url, str(scale), str(page_size), "1" if settle else "0"],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    got: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return got


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def _backend(backend: str, args: argparse.Namespace, trees: dict[str, Path], tmp: Path) -> None:
    rates: dict[str, list[float]] = {"before": [], "after": []}
    cpu_rates: dict[str, list[float]] = {"before": [], "after": []}
    pairs: list[float] = []
    counts: dict[str, set[int]] = {"before": set(), "after": set()}
    print(f"\n== {backend} ({args.rounds} rounds, scale {args.scale}, pages of {args.page_size}, "
          f"{'heap collected before the clock' if args.settle_gc else 'heap as the imports left it'})", flush=True)
    for r in range(args.rounds):
        order = ("before", "after") if r % 2 == 0 else ("after", "before")
        load_start = _load()
        got: dict[str, float] = {}
        for side in order:
            with _store(backend, args.url, tmp, f"{side}_{r}_{os.getpid()}") as url:
                m = _measure(trees[side], url, args.scale, args.page_size, args.settle_gc)
            if not m["c_twins"]:
                sys.exit(f"ingest_ab: the {side} side runs without its C twins: figures withheld")
            got[side] = m["records"] / m["wall"]
            rates[side].append(got[side])
            cpu_rates[side].append(m["records"] / m["cpu"])
            counts[side].add(int(m["records"]))
        pairs.append(got["after"] / got["before"])
        print(
            f"round {r + 1} ({' then '.join(order)}): before {got['before']:,.0f}/s, after {got['after']:,.0f}/s, "
            f"after÷before {pairs[-1]:.3f}; load average {load_start} → {_load()}",
            flush=True,
        )
    before, after = statistics.median(rates["before"]), statistics.median(rates["after"])
    print(f"records per run: before {sorted(counts['before'])}, after {sorted(counts['after'])}")
    # The probe's own CPU time (its threads, SQLite's work in it; not PostgreSQL's server): less moved by
    # other processes on the machine than the wall clock, though not immune (shared caches, clock).
    cpu_before, cpu_after = statistics.median(cpu_rates["before"]), statistics.median(cpu_rates["after"])
    runs = {side: ", ".join(f"{r:,.0f}" for r in cpu_rates[side]) for side in cpu_rates}
    print(
        f"{backend}: by the probe's CPU time, median before {cpu_before:,.0f}/s, after {cpu_after:,.0f}/s; "
        f"after÷before {cpu_after / cpu_before:.3f} (runs before {runs['before']}; after {runs['after']})"
    )
    print(
        f"{backend}: median before {before:,.0f}/s, after {after:,.0f}/s; "
        f"after÷before of the medians {after / before:.3f}, "
        f"median of the rounds' ratios {statistics.median(pairs):.3f} "
        f"(rounds {', '.join(f'{p:.3f}' for p in pairs)}); load average {_load()}"
    )


def main() -> None:
    """Run the A/B and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True, help="git revision measured as the baseline")
    ap.add_argument("--after", default="HEAD", help="git revision measured against it (default HEAD)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--scale", type=float, default=4.0, help="simulator scale (4: about 51k records)")
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument(
        "--settle-gc",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one full garbage collection before the timed region, on both sides (default; see PROBE)",
    )
    ap.add_argument("--url", default="postgresql+psycopg://127.0.0.1:5432/test", help="PostgreSQL database")
    args = ap.parse_args()
    revs = {"before": _git("rev-parse", "--short", args.before), "after": _git("rev-parse", "--short", args.after)}
    print(
        f"ingest A/B: before {revs['before']} ({args.before}), after {revs['after']} ({args.after}); "
        f"{os.cpu_count()} CPUs; load average {_load()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    tmp = Path(tempfile.mkdtemp(prefix="ingest-ab-"))
    try:
        with _worktree(revs["before"], tmp) as before, _worktree(revs["after"], tmp / "after") as after:
            trees = {"before": before, "after": after}
            for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
                _backend(backend, args, trees, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
