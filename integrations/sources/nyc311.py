"""The NYC 311 profile's region hierarchy, built from the data (``python -m integrations.sources.nyc311``).

New York has no Chinese statistical codes, so the profile uses a synthetic 12-digit scheme with the same
tiers (``domain.regions``)::

    3600 00 000 000   city       New York City (prefix 3600)
    3600 BB 000 000   district   borough: 01 MANHATTAN, 02 BRONX, 03 BROOKLYN, 04 QUEENS, 05 STATEN ISLAND
    3600 BB CCC 000   street     community board CCC of the borough ("12 MANHATTAN" → 012)
    3600 BB CCC ZZZ   community  zip code within that board, numbered 001… in zip order

A zip code that straddles two boards is a community under each. The lookup key of a row is
``"<Community Board>|<Incident Zip>"`` (e.g. ``"12 MANHATTAN|10032"``). A row whose board is
``"Unspecified BROOKLYN"`` but whose zip is known goes to the community of that zip under the board it
appears with most often in that borough (``"Unspecified BROOKLYN|11221"`` has its own lookup entry).
Rows with an empty zip, or a zip never seen with a board, have no region: the ingest quarantines them.
Output (``nyc311-regions.yaml``): ``regions`` (code → name: ``NEW YORK CITY``, ``BROOKLYN``,
``12 BROOKLYN``, ``11201``) and ``lookup``.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import yaml

from integrations.settings import PACKAGE_ROOT

DATA_DIR = PACKAGE_ROOT / "data" / "nyc311"
"""Where the real NYC 311 samples are: the repository's copy (provenance and licence in its SOURCES.md)."""
REGIONS_FILE = PACKAGE_ROOT / "integrations" / "data" / "nyc311-regions.yaml"
CITY = "3600"
BOROUGHS = {"MANHATTAN": "01", "BRONX": "02", "BROOKLYN": "03", "QUEENS": "04", "STATEN ISLAND": "05"}
_BOARD = re.compile(r"^(\d{2}) (MANHATTAN|BRONX|BROOKLYN|QUEENS|STATEN ISLAND)$")
_ZIP = re.compile(r"^\d{5}$")


def build_regions(csv_files: Iterable[Path]) -> tuple[dict[str, str], dict[str, str]]:
    """``(names, lookup)`` of every (board, zip) pair seen in ``csv_files`` (see the module docstring)."""
    seen: Counter[tuple[str, str]] = Counter()
    unspecified: set[tuple[str, str]] = set()
    for path in csv_files:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                board, zip_code = row.get("Community Board", "").strip(), row.get("Incident Zip", "").strip()
                if _BOARD.match(board) and _ZIP.match(zip_code):
                    seen[(board, zip_code)] += 1
                elif board.startswith("Unspecified ") and _ZIP.match(zip_code):
                    unspecified.add((board, zip_code))
    pairs = set(seen)
    names = {f"{CITY}00000000": "NEW YORK CITY"}
    lookup: dict[str, str] = {}
    by_board: dict[str, list[str]] = {}
    for board, zip_code in sorted(pairs):
        by_board.setdefault(board, []).append(zip_code)
    for board, zips in sorted(by_board.items()):
        m = _BOARD.match(board)
        assert m is not None
        number, borough = m.groups()
        district = CITY + BOROUGHS[borough]
        street = f"{district}{int(number):03d}"
        names[f"{district}000000"] = borough
        names[f"{street}000"] = board
        for i, zip_code in enumerate(zips, 1):
            code = f"{street}{i:03d}"
            names[code] = zip_code
            lookup[f"{board}|{zip_code}"] = code
    for board, zip_code in sorted(unspecified):
        borough = board.removeprefix("Unspecified ")
        # Most frequent first; ties go to the lower board number (sorted keys), so the output is stable.
        candidates = sorted((-n, b) for (b, z), n in seen.items() if z == zip_code and b.endswith(" " + borough))
        if candidates:
            lookup[f"{board}|{zip_code}"] = lookup[f"{candidates[0][1]}|{zip_code}"]
    return dict(sorted(names.items())), dict(sorted(lookup.items()))


def write_regions(out: Path = REGIONS_FILE, data_dir: Path = DATA_DIR) -> int:
    """Write the generated region directory and lookup to ``out``; returns the number of lookup entries."""
    names, lookup = build_regions(sorted(data_dir.glob("*.csv")))
    header = (
        "# NYC 311 region hierarchy, generated from the samples in data/nyc311 by\n"
        "# `python -m integrations.sources.nyc311` (scheme: integrations/sources/nyc311.py). Do not edit.\n"
    )
    body = yaml.safe_dump({"regions": names, "lookup": lookup}, allow_unicode=True, sort_keys=True, width=200)
    out.write_text(header + body, encoding="utf-8")
    return len(lookup)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REGIONS_FILE
    print(f"{write_regions(target)} lookup entries written to {target}")
