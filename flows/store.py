"""The flows' handle on the store: one migrated engine per database URL per process."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from integrations.settings import get_settings
from integrations.store.db import open_store

_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


def store_engine() -> sa.Engine:
    """The configured store's engine (migrated once per process and URL)."""
    url = get_settings().resolved_database_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = open_store(url)
        return engine


def close_engines() -> None:
    """Close every engine opened here and forget it (the next :func:`store_engine` opens anew).

    Disposing closes pooled connections now, instead of leaving them to the garbage collector."""
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()
