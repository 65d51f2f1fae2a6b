"""The flows' handle on the store: one migrated engine per database URL per process."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa

from integrations.settings import get_settings
from integrations.store.db import open_store


@lru_cache(maxsize=4)
def _engine_for(url: str) -> sa.Engine:
    return open_store(url)


def store_engine() -> sa.Engine:
    """The configured store's engine (migrated once per process)."""
    return _engine_for(get_settings().resolved_database_url)
