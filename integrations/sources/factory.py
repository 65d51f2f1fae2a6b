"""Build live sources from the configuration: a :class:`RestSource` or a :class:`FileDropSource` per spec."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from integrations.settings import Settings
from integrations.sources.auth import AuthError, build_auth, resolve_secret
from integrations.sources.base import DataSource, SourceRequestError
from integrations.sources.config import SourcesFile, SourceSpec, load_sources
from integrations.sources.filedrop import FileDropSource
from integrations.sources.rest import RestSource


def build_source(spec: SourceSpec, settings: Settings, *, now: datetime | None = None, **kw: Any) -> DataSource:
    """The source ``spec`` describes. Extra keyword arguments go to :class:`RestSource` (``transport``,
    ``sleep``… in tests). A missing secret is a :class:`SourceRequestError` naming it. ``now`` is the
    pipeline's clock, up to which the register's visits fall due (default: the time of each fetch)."""
    if spec.transport == "register":
        from integrations.sources.register import RegisterSource

        return RegisterSource.from_settings(spec.config, settings, now=now, first_run=spec.first_run)
    if spec.transport == "filedrop":
        assert spec.folder is not None
        return FileDropSource(
            spec.config,
            spec.folder,
            file_format=spec.file_format,
            pattern=spec.pattern,
            encoding=spec.encoding,
            delimiter=spec.delimiter,
        )
    try:
        auth = build_auth(spec.auth, lambda a: resolve_secret(a, settings))
    except AuthError as exc:
        raise SourceRequestError(spec.name, str(exc)) from None
    kw.setdefault("base_url", spec.base_url)
    kw.setdefault("auth", auth)
    kw.setdefault("pagination", spec.pagination)
    return RestSource.from_settings(spec.config, settings, **kw)


def configured_sources(settings: Settings, path: Path | None = None) -> SourcesFile:
    """The sources file of ``settings`` (or ``path``), loaded (raises ``SourcesFileError``)."""
    return load_sources(path or settings.sources_file, settings=settings)


__all__ = ["build_source", "configured_sources"]
