"""Ingest: pull one source from its stored cursor, page by page, into the store (no Prefect here).

The work is :class:`~integrations.ingest.pipeline.IngestPipeline` (fetch, map, store, advance the
cursor); here are its entry point and what the flows need around it (the record kinds, the sources).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
import yaml

from domain.kinds import KindsError, RecordKinds
from integrations.ingest.pipeline import IngestPipeline, IngestReport
from integrations.settings import Settings
from integrations.sources.base import DataSource
from integrations.sources.factory import build_source, configured_sources

__all__ = ["IngestReport", "build_sources", "ingest_source", "load_kinds"]


def ingest_source(
    engine: sa.Engine,
    source: DataSource,
    *,
    kinds: RecordKinds,
    key: str | bytes,
    now: datetime | None = None,
    page_size: int = 500,
    max_stalls: int = 5,
    known_regions: Container[str] | None = None,
    progress: Callable[[IngestReport], None] | None = None,
    prefetch: bool = True,
) -> IngestReport:
    """Fetch ``source`` from its stored cursor until it has no more: :meth:`IngestPipeline.run
    <integrations.ingest.pipeline.IngestPipeline.run>` (see there for the arguments).

    Raises :class:`~integrations.sources.SourceError` (nothing uncommitted is lost).
    """
    pipeline = IngestPipeline(
        engine, source, kinds=kinds, key=key, now=now, page_size=page_size, known_regions=known_regions
    )
    return pipeline.run(max_stalls=max_stalls, progress=progress, prefetch=prefetch)


_KINDS_KEY = re.compile(rb"^kinds\s*:", re.MULTILINE)


def load_kinds(rulebook: Path) -> RecordKinds:
    """The record kinds of the rulebook at ``rulebook``: ``load_rulebook([rulebook]).kinds``, without
    parsing and validating every rule file (a tenth of a second per ingest task).

    The loader's lookup in the usual case — no kinds file among the rule files, so ``kinds.yaml`` in the
    rulebook folder, else in its parent — is done here; anything else (a kinds file under another
    name, or one that does not load) goes through the loader itself, so the result is always its own.
    """
    from rules.language.files import yaml_files

    inside = [p for p in yaml_files([rulebook]) if p.is_file() and _KINDS_KEY.search(p.read_bytes())]
    folder = rulebook if rulebook.is_dir() else rulebook.parent
    for candidate in (folder / "kinds.yaml", rulebook.parent / "kinds.yaml"):
        if candidate.is_file() and (not inside or inside == [candidate]):
            try:
                return RecordKinds.load(candidate)
            except (KindsError, yaml.YAMLError, UnicodeDecodeError, OSError):
                break  # the loader reports it its own way
    from rules.language.loader import load_rulebook  # only now: importing the rule language costs time too

    return load_rulebook([rulebook], rulebook).kinds


def build_sources(settings: Settings, names: list[str] | None = None, *, now: datetime | None = None,
                  **kw: object) -> list[DataSource]:
    """The sources of ``settings.sources_file`` (default: the simulator's departments); close them after use.

    ``names`` picks some (in file order). Extra keyword arguments go to every REST source
    (``transport``, ``sleep``… in tests). Raises ``SourcesFileError`` for a broken file.
    """
    specs = configured_sources(settings).specs
    # Pushed-only sources deliver to the intake (integrations.intake_api); there is nothing to pull.
    return [build_source(s, settings, now=now, **kw) for s in specs
            if s.transport != "push" and (names is None or s.name in names)]
