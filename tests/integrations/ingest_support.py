"""What the ingest tests share: the simulator fixture, a run over every department, a row count."""

from __future__ import annotations

import sqlalchemy as sa

from domain.kinds import RecordKinds
from integrations.ingest.run import IngestReport, build_sources, ingest_source
from integrations.settings import Settings
from integrations.simulator import RunningSimulator
from integrations.sources import DEPARTMENTS
from integrations.store.db import session_scope

KEY = "test-key"
DEPARTMENT_NAMES = [c.name for c in DEPARTMENTS]
"""The simulator's departments (sources.yaml also declares the register, read from the store)."""


def run_all(
    engine: sa.Engine,
    sim: RunningSimulator,
    kinds: RecordKinds,
    *,
    page_size: int = 50,
    sleeps: list[float] | None = None,
) -> dict[str, IngestReport]:
    sources = build_sources(
        Settings(simulator_url=sim.url, http_retries=6), DEPARTMENT_NAMES,
        sleep=(sleeps if sleeps is not None else []).append,
    )
    try:
        return {s.kind: ingest_source(engine, s, kinds=kinds, key=KEY, page_size=page_size) for s in sources}
    finally:
        for s in sources:
            s.close()


def count(engine: sa.Engine, table: type, **where: str) -> int:
    with session_scope(engine) as s:
        q = sa.select(sa.func.count()).select_from(table)
        for k, v in where.items():
            q = q.where(getattr(table, k) == v)
        return int(s.execute(q).scalar_one())
