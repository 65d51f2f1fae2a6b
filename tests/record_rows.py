"""Reading record rows back in tests: the columns asked for, of sources starting with a prefix."""

from __future__ import annotations

import sqlalchemy as sa


def record_rows(engine: sa.Engine, prefix: str, columns: str, *, order: str = "seq") -> list[tuple[object, ...]]:
    """``columns`` (SQL) of the record rows whose source starts with ``prefix``, ordered by ``order``."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(f"SELECT {columns} FROM record WHERE source LIKE :prefix ORDER BY {order}"),
            {"prefix": f"{prefix}%"},
        ).fetchall()
    return [tuple(r) for r in rows]
