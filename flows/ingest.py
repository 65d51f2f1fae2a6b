"""``ingest_records``: pull new records from each departmental source, one task per source (a batch)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.guard import require_safe_settings
from flows.store import store_engine
from integrations.i18n import _
from integrations.settings import get_settings


@task(name="fetch-source", cache_policy=NONE, retries=2, retry_delay_seconds=[2, 10])
def fetch_source(name: str, now: datetime) -> dict[str, Any]:
    """Fetch one source from its stored cursor to its end; valid records stored, invalid quarantined."""
    from domain.regions import RegionDirectory
    from integrations.ingest.run import build_sources, ingest_source, load_kinds

    settings = get_settings()
    # The kinds in force are the rulebook's (rules/kinds.yaml unless the rulebook folder has its own); the
    # rules themselves are not needed here.
    kinds = load_kinds(settings.rulebook)
    # A well-formed code the region directory does not know is quarantined as an unknown region (a typo
    # at the department would otherwise route a warning to nobody's jurisdiction).
    directory = RegionDirectory.load(settings.regions).names if settings.reject_unknown_regions else {}
    (source,) = build_sources(settings, [name], now=now)  # now: up to when the register's visits fall due
    try:
        report = ingest_source(store_engine(), source, kinds=kinds, now=now, page_size=settings.page_size,
                               key=settings.pseudonym_key.get_secret_value(), known_regions=directory or None)
    finally:
        source.close()
    if report.quarantined:
        get_run_logger().warning(_("{source}：{n} 条记录已隔离：{reasons}").format(
            source=name, n=report.quarantined, reasons=report.reasons))
    return {"source": name, "pages": report.pages, "fetched": report.fetched, "inserted": report.inserted,
            "updated": report.updated, "quarantined": report.quarantined}


def source_names() -> list[str]:
    """Names of the configured departmental sources."""
    from integrations.sources.factory import configured_sources

    return configured_sources(get_settings()).names


@flow(name="ingest_records", log_prints=True)
def ingest_records(sources: list[str] | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """Ingest the named sources (default: all), each as one task."""
    require_safe_settings()
    at = now or datetime.now(UTC)
    names = sources or source_names()
    unknown = sorted(set(names) - set(source_names()))
    if unknown:
        raise ValueError(_("未知的数据源 {unknown}；已配置：{configured}").format(
            unknown=_("、").join(unknown), configured=_("、").join(source_names())))
    return [fetch_source(name, at) for name in names]
