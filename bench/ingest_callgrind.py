"""Instructions of the ingest between two git revisions, counted by callgrind (stable on a shared machine).

Run: ``uv run python bench/ingest_callgrind.py --before 48e5e48 [--after HEAD] [--mode ingest|map|both]
[--scale 4] [--no-settle-gc]`` (needs ``valgrind`` and its headers, ``valgrind/callgrind.h``).

The wall clock of ``bench/ingest_ab.py`` swings by ±30% a round when other work shares the two cores;
the number of instructions executed does not. Each revision is checked out and its C extension built as
``ingest_ab.py`` does; each measurement is a fresh process under ``valgrind --tool=callgrind
--instr-atstart=no`` that prepares what is not measured (imports, the revision's simulator, a new SQLite
store, the sources; for ``map`` every page fetched and each source's mapping compiled), then switches
the instrumentation on, runs the measured part and dumps the counts: ``ingest`` is ``ingest_source``
over every department (SQLite), ``map`` is ``CompiledMapping.map_page`` over every fetched page.
Instructions are not time: a full garbage collection, cache misses and waiting for the GIL or the disk
cost far more time per instruction than the interpreter's own work, so read these beside the A/B.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_ab import _git, _worktree  # the same checkouts and builds as the wall-clock A/B

SHIM = r"""
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void cg_dump(const char *why) { CALLGRIND_DUMP_STATS_AT(why); }
void cg_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
"""

# argv: worktree, shim, store URL, scale, page size, mode, settle.
PROBE = r"""
import ctypes, gc, json, subprocess, sys
tree, shim, url, scale, page_size, mode, settle = sys.argv[1:8]
page_size, settle = int(page_size), settle == "1"
cg = ctypes.CDLL(shim)
import integrations
assert integrations.__file__.startswith(tree), f"code from {integrations.__file__}, not {tree}"
from datetime import UTC, datetime
from domain.kinds import RecordKinds
from integrations.ingest import speedups
from integrations.ingest.run import build_sources, ingest_source
from integrations.settings import PACKAGE_ROOT, Settings
from integrations.sources import DEPARTMENTS
from integrations.store.db import open_store
try:
    from integrations.ingest.fastmap import CompiledMapping
except ImportError:  # where 48e5e48 kept it
    from integrations.sources.fastmap import CompiledMapping
assert speedups.UNAVAILABLE is None, speedups.UNAVAILABLE

kinds = RecordKinds.load(PACKAGE_ROOT / "rules" / "kinds.yaml")
sim = subprocess.Popen([sys.executable, "-m", "integrations.simulator", "--port", "0", "--bad-rate", "0",
                        "--seed", "1", "--scale", scale], stdout=subprocess.PIPE, text=True, cwd=tree)
n = 0
try:
    sources = build_sources(Settings(simulator_url=json.loads(sim.stdout.readline())["url"]),
                            [d.name for d in DEPARTMENTS])
    if mode == "ingest":
        engine = open_store(url)
        if settle:
            gc.collect()
        cg.cg_start()
        for src in sources:
            n += ingest_source(engine, src, kinds=kinds, key="k", page_size=page_size).inserted
        cg.cg_dump(b"ingest")
        cg.cg_stop()
        engine.dispose()
    else:
        work = []
        for src in sources:
            cursor, pages = None, []
            while True:
                page = src.fetch(cursor, limit=page_size)
                pages.append(page.items)
                if not page.has_more:
                    break
                cursor = page.next_cursor or cursor
            work.append((CompiledMapping(src.config, kinds, "k", utc_text=True), pages))
        now = datetime.now(UTC)
        if settle:
            gc.collect()
        cg.cg_start()
        for mapping, pages in work:
            for items in pages:
                n += len(mapping.map_page(items, now)[0])
        cg.cg_dump(b"map")
        cg.cg_stop()
    for src in sources:
        src.close()
finally:
    sim.terminate()
    sim.wait()
print(json.dumps({"records": n}))
"""


def _count(tree: Path, shim: Path, tmp: Path, mode: str, args: argparse.Namespace) -> tuple[int, int]:
    """(instructions of the measured part, records) for one fresh process of ``tree``."""
    tag = f"{tree.name}-{mode}"
    store, out = tmp / f"{tag}.db", tmp / f"{tag}.callgrind"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("FENGHUO_DATABASE_URL", None)
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p", sys.executable,
         "-c", PROBE, str(tree), str(shim), f"sqlite:///{store}", str(args.scale), str(args.page_size), mode,
         "1" if args.settle_gc else "0"],
        cwd=tree, env=env, check=True, capture_output=True, text=True,
    )
    records = int(re.findall(r'"records": (\d+)', done.stdout)[-1])
    dumps = [p for p in tmp.glob(f"{tag}.callgrind.*") if p.suffix != "" and p.name.count(".") == 3]
    if len(dumps) != 1:
        sys.exit(f"ingest_callgrind: expected one dump of the measured part, found {dumps}")
    total = re.search(r"^(?:summary|totals): (\d+)", dumps[0].read_text(), re.MULTILINE)
    if total is None:
        sys.exit(f"ingest_callgrind: no total in {dumps[0]}")
    for p in tmp.glob(f"{tag}*"):
        p.unlink()
    return int(total.group(1)), records


def main() -> None:
    """Count both revisions' instructions and print them with their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True, help="git revision measured as the baseline")
    ap.add_argument("--after", default="HEAD", help="git revision measured against it (default HEAD)")
    ap.add_argument("--mode", choices=["ingest", "map", "both"], default="both")
    ap.add_argument("--scale", type=float, default=4.0, help="simulator scale (4: about 51k records)")
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--settle-gc", action=argparse.BooleanOptionalAction, default=True,
                    help="one full garbage collection before the measured part (default; see ingest_ab.py)")
    args = ap.parse_args()
    revs = {"before": _git("rev-parse", "--short", args.before), "after": _git("rev-parse", "--short", args.after)}
    print(f"ingest callgrind: before {revs['before']} ({args.before}), after {revs['after']} ({args.after}); "
          f"scale {args.scale}, pages of {args.page_size}, SQLite, "
          f"{'heap collected first' if args.settle_gc else 'heap as the imports left it'}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="ingest-cg-"))
    shim = tmp / "libcgshim.so"
    (tmp / "shim.c").write_text(SHIM)
    subprocess.run(["cc", "-O2", "-fPIC", "-shared", str(tmp / "shim.c"), "-o", str(shim)], check=True)
    try:
        _run(args, revs, tmp, shim)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(args: argparse.Namespace, revs: dict[str, str], tmp: Path, shim: Path) -> None:
    with _worktree(revs["before"], tmp) as before, _worktree(revs["after"], tmp / "after") as after:
        for mode in ("ingest", "map") if args.mode == "both" else (args.mode,):
            got = {side: _count(tree, shim, tmp, mode, args) for side, tree in (("before", before), ("after", after))}
            (b, nb), (a, na) = got["before"], got["after"]
            print(f"{mode}: before {b:,} instructions ({nb:,} records), after {a:,} ({na:,}); "
                  f"after÷before {a / b:.3f}", flush=True)


if __name__ == "__main__":
    main()
