"""Departmental data sources: the :class:`DataSource` protocol, a REST source, a fake, and mapping."""

from integrations.sources.base import (
    DataSource,
    Page,
    RawItem,
    SourceError,
    SourceRateLimited,
    SourceRequestError,
    SourceStalled,
    SourceUnavailable,
)
from integrations.sources.config import DEPARTMENTS
from integrations.sources.fake import FakeSource
from integrations.sources.filedrop import FileDropSource
from integrations.sources.mapping import Rejection, SourceConfig, map_item
from integrations.sources.payload import safe_raw
from integrations.sources.rest import RestSource

__all__ = [
    "DEPARTMENTS",
    "DataSource",
    "FakeSource",
    "FileDropSource",
    "Page",
    "RawItem",
    "Rejection",
    "RestSource",
    "SourceConfig",
    "SourceError",
    "SourceRateLimited",
    "SourceRequestError",
    "SourceStalled",
    "SourceUnavailable",
    "map_item",
    "safe_raw",
]
