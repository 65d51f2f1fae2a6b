"""Rows kept on a session and written together when the outermost block ends (a batch's audit rows, its
outbox rows): one multi-row insert instead of a round trip each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlmodel import Session

__all__ = ["deferring"]


@contextmanager
def deferring(session: Session, key: str, flush: Callable[[Session], None]) -> Iterator[None]:
    """Inside, ``session.info[key]`` is a list the writers append their rows to; ``flush`` writes them when
    the outermost block for ``key`` ends. Nested blocks write at the outermost one's end; an exception
    leaves them unwritten (the transaction is rolled back anyway)."""
    if key in session.info:
        yield
        return
    session.info[key] = []
    try:
        yield
        flush(session)
    finally:
        session.info.pop(key, None)
