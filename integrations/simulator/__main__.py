"""``python -m integrations.simulator``: serve the simulated departments until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml

from integrations.simulator import Faults, region_directory, start_simulator
from integrations.simulator.generate import KINDS


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, start the simulator, print where it listens, and wait."""
    ap = argparse.ArgumentParser(prog="python -m integrations.simulator", description=__doc__)
    ap.add_argument("--seed", type=int, default=20260105)
    ap.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--bad-rate", type=float, default=0.002, help="share of malformed items")
    ap.add_argument("--fail-rate", type=float, default=0.0, help="share of requests answered 500")
    ap.add_argument("--rate-limit-rate", type=float, default=0.0, help="share answered 429")
    ap.add_argument("--truncate-rate", type=float, default=0.0)
    ap.add_argument("--duplicate-rate", type=float, default=0.0)
    ap.add_argument("--write-regions", type=Path, help="write the region directory (YAML) and exit")
    args = ap.parse_args(argv)
    if args.write_regions:
        args.write_regions.write_text(
            "# Region directory of the simulated city (generated: python -m integrations.simulator "
            "--write-regions PATH).\n# Real district codes and names; streets, communities and grids are made up.\n"
            + yaml.safe_dump({"regions": region_directory()}, allow_unicode=True, sort_keys=True),
            encoding="utf-8",
        )
        print(f"wrote {args.write_regions}")
        return
    faults = Faults(
        fail_rate=args.fail_rate,
        rate_limit_rate=args.rate_limit_rate,
        truncate_rate=args.truncate_rate,
        duplicate_rate=args.duplicate_rate,
    )
    sim = start_simulator(
        seed=args.seed,
        port=args.port,
        days=args.days,
        scale=args.scale,
        bad_rate=args.bad_rate,
        faults=faults,
    )
    counts = {k: sim.feed.count(k) for k in KINDS}
    print(json.dumps({"url": sim.url, "counts": counts}, ensure_ascii=False), flush=True)
    for line in sim.generator.planted:
        print("  planted:", line)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sim.stop()


if __name__ == "__main__":
    main()
