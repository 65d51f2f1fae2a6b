"""The NYC 311 profile on the real samples in the repository (data/nyc311): ingest, quarantine, regions, rules."""

from __future__ import annotations

import csv
import dataclasses
import shutil
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from domain.kinds import RecordKinds
from domain.records import Record
from domain.regions import RegionDirectory, ancestors
from integrations.ingest.run import ingest_source
from integrations.settings import PACKAGE_ROOT, Settings
from integrations.sources.config import SourceSpec, load_sources
from integrations.sources.factory import build_source
from integrations.sources.mapping import map_item
from integrations.sources.nyc311 import DATA_DIR, REGIONS_FILE, build_regions
from integrations.store.db import session_scope
from integrations.store.models import QuarantineRow, RecordRow
from integrations.store.records import list_quarantine

PROFILE = PACKAGE_ROOT / "integrations" / "data" / "sources-nyc311.yaml"
MAY = DATA_DIR / "nyc311_2022-05-01_first_2h.csv"
XMAS = DATA_DIR / "nyc311_2013-12-25_full_day.csv"


def spec_for(tmp_path: Path, *files: Path) -> SourceSpec:
    """The profile's source, reading a folder holding only ``files``."""
    folder = tmp_path / "drop"
    folder.mkdir()
    for f in files:
        shutil.copy(f, folder / f.name)
    return dataclasses.replace(load_sources(PROFILE, settings=Settings()).get("nyc311"), folder=folder)


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_profile_reads_the_repository_copy(kinds: RecordKinds) -> None:
    spec = load_sources(PROFILE, settings=Settings(), kinds=kinds).get("nyc311")
    assert DATA_DIR == PACKAGE_ROOT / "data" / "nyc311"
    assert spec.transport == "filedrop" and spec.folder == DATA_DIR.resolve()
    assert sorted(p.name for p in spec.folder.glob("*.csv")) == [XMAS.name, MAY.name]
    assert (DATA_DIR / "SOURCES.md").is_file()


def test_generated_regions_match_the_data_and_the_code_scheme() -> None:
    names, lookup = build_regions(sorted(DATA_DIR.glob("*.csv")))
    directory = RegionDirectory.load(REGIONS_FILE)
    assert directory.names == names  # the committed file is up to date
    code = lookup["12 MANHATTAN|10032"]
    assert code.startswith("360001012") and ancestors(code)["district"] == "360001000000"
    assert directory.path(code) == "NEW YORK CITY / MANHATTAN / 12 MANHATTAN / 10032"
    assert directory.name("360003000000") == "BROOKLYN"


def test_ingesting_may_first_gives_every_row_with_a_zip_and_quarantines_the_rest(
    tmp_path: Path, sqlite_engine: sa.Engine, kinds: RecordKinds
) -> None:
    rows = rows_of(MAY)
    no_region = [r for r in rows if not r["Incident Zip"].strip() or not r["Borough"].strip()
                 or r["Borough"] == "Unspecified"]
    assert len(rows) == 924 and len(no_region) == 6
    with build_source(spec_for(tmp_path, MAY), Settings()) as src:  # type: ignore[attr-defined]
        report = ingest_source(sqlite_engine, src, kinds=kinds, key="k", page_size=200,
                               now=datetime(2022, 5, 2, tzinfo=UTC))
    assert report.inserted == len(rows) - len(no_region)
    assert report.quarantined == len(no_region) and set(report.reasons) == {"missing_region"}
    with session_scope(sqlite_engine) as s:
        quarantined = list_quarantine(session=s, limit=100)
        first = s.execute(sa.select(RecordRow).where(RecordRow.source_id == "54049402")).scalar_one()
        total = s.execute(sa.select(sa.func.count()).select_from(RecordRow)).scalar_one()
    assert total == len(rows) - len(no_region)
    assert {q.source_id for q in quarantined} == {r["Unique Key"] for r in no_region}
    assert all("'Incident Zip'" in q.reason and q.page for q in quarantined)
    # 05/01/2022 12:00:03 AM in New York (EDT, UTC-4).
    assert first.at == datetime(2022, 5, 1, 4, 0, 3, tzinfo=UTC)
    assert first.attributes == {"category": "noise", "descriptor": "Loud Music/Party", "status": "in_progress"}
    assert RegionDirectory.load(REGIONS_FILE).path(first.region) == "NEW YORK CITY / BRONX / 04 BRONX / 10452"
    with session_scope(sqlite_engine) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(QuarantineRow)).scalar_one() == len(no_region)


def test_christmas_day_backtest_warns_of_a_hotline_spike(tmp_path: Path, kinds: RecordKinds) -> None:
    from rules.language.loader import load_rulebook
    from rules.run.backtest import backtest

    spec = spec_for(tmp_path, XMAS)
    records: list[Record] = []
    with build_source(spec, Settings()) as src:  # type: ignore[attr-defined]
        cursor = None
        while True:
            page = src.fetch(cursor, limit=1000)
            records += [m for raw in page.items
                        if isinstance(m := map_item(raw, spec.config, kinds, "k", now=datetime.now(UTC)), Record)]
            if not page.has_more:
                break
            cursor = page.next_cursor
    assert len(records) == len(rows_of(XMAS)) - 75  # the rows without a zip code
    rulebook = load_rulebook()
    assert rulebook.ok, rulebook.errors
    records.sort(key=lambda r: (r.at, r.source, r.id))
    warnings = [w for w in backtest(rulebook, records) if w["rule"] == "hotline-complaint-spike"]
    assert warnings, "no hotline spike on Christmas Day 2013"
    names = RegionDirectory.load(REGIONS_FILE)
    places = {names.path(w["region"]) for w in warnings}
    assert any("14 BROOKLYN" in p for p in places)  # 37 heating complaints in 11226 that day
    assert {w["level"] for w in warnings} >= {"blue", "yellow"}
