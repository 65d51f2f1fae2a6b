"""Workspace benchmark: the inbox page with 100,000 warnings in the store, on SQLite and PostgreSQL.

For a street officer (江果桥街道) and for the city duty office, the inbox page (all filters at their
defaults: unresolved, red first) is requested N times through the real app; the server time of each
request is taken inside the app (a middleware around the handler), so the test client's own overhead is
not counted. Printed per backend and viewer: p50, p95 and max, against the same run's baseline — the
login form, which touches no warning — and the ratio; then the query plan of the jurisdiction filter,
to show it is an index range, not a scan. Target: p95 under 200 ms. It never asserts wall-clock.

    uv run python bench/web_bench.py [--warnings 100000] [--requests 40] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from fastapi import Request, Response
from fastapi.testclient import TestClient

from bench.machine import machine_line
from domain.responders import ResponderDirectory
from integrations.actions_api import create_app
from integrations.settings import Settings
from integrations.simulator.regions import region_tree
from integrations.store.db import open_store, session_scope
from integrations.store.models import WarningRow
from integrations.store.users import UserAccountRow, add_account
from integrations.workspace.inbox import UNRESOLVED, subtree

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
PASSWORD = "a long bench password"
SETTINGS = Settings(link_secret="bench-link-secret", session_secret="bench-session-secret",
                    public_base_url="http://testserver")
VIEWERS = {"street": ("jj-s001-office", "江果桥街道综治中心"), "city": ("cd-duty-office", "成都市维稳工作值班室")}


def fill(engine: sa.Engine, n: int) -> None:
    """``n`` warnings over the simulated city's grids, a year's worth: a tenth unresolved."""
    rng = random.Random(7)
    grids = region_tree().all_grids
    levels = ["blue"] * 50 + ["yellow"] * 30 + ["orange"] * 15 + ["red"] * 5
    rules = ["collective-petition", "repeat-petitioner", "wage-arrears-cluster", "hotline-community-surge",
             "care-visit-missed", "dispute-escalation", "incident-injuries"]
    table = WarningRow.__table__  # type: ignore[attr-defined]
    rows = []
    for i in range(n):
        grid = rng.choice(grids)
        at = NOW - timedelta(minutes=rng.randrange(365 * 24 * 60))
        status = rng.choices(["open", "acknowledged", "resolved"], [5, 5, 90])[0]
        rows.append({"fingerprint": f"fp{i:07d}", "open_key": None if status == "resolved" else f"fp{i:07d}",
                     "rule": rng.choice(rules), "title": "集体访苗头", "level": rng.choice(levels), "status": status,
                     "region": grid, "tier": "street", "route_region": grid[:9] + "000", "first_at": at,
                     "last_at": at, "occurrences": 1, "summary": "60 人聚集", "explanation": "people=60 ≥ 50",
                     "records": [], "rulebook_version": "bench", "policy": {}, "escalation_step": 0, "opened_at": at,
                     "ack_due_at": at + timedelta(hours=2), "resolve_due_at": at + timedelta(days=7)})
        if len(rows) == 10_000:
            with engine.begin() as conn:
                conn.execute(table.insert(), rows)
            rows = []
    if rows:
        with engine.begin() as conn:
            conn.execute(table.insert(), rows)


def accounts(engine: sa.Engine, directory: ResponderDirectory) -> None:
    with session_scope(engine) as s:
        (first, (rid, _)), *rest = VIEWERS.items()
        row = add_account(session=s, username=first, responder_id=rid, password=PASSWORD, directory=directory,
                          actor="bench", now=NOW)
        for user, (rid, _) in rest:
            s.add(UserAccountRow(username=user, responder_id=rid, password_hash=row.password_hash))


def measure(engine: sa.Engine, requests: int) -> dict[str, list[float]]:
    """Server milliseconds per page: the baseline (login form) and each viewer's inbox."""
    app = create_app(engine, SETTINGS, clock=lambda: NOW)
    spent: list[float] = []

    @app.middleware("http")
    async def timed(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        t0 = time.perf_counter()
        response = await call_next(request)
        spent.append((time.perf_counter() - t0) * 1000)
        return response

    out: dict[str, list[float]] = {}
    client = TestClient(app)

    def run(name: str, path: str) -> None:
        client.get(path)  # warm: templates compiled, connection pooled
        spent.clear()
        for _ in range(requests):
            assert client.get(path).status_code == 200
        out[name] = list(spent)

    run("baseline: login form", "/login")
    for user, (_, name) in VIEWERS.items():
        client.cookies.clear()
        form = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]*)"', form.text)
        assert csrf is not None
        client.post("/login", data={"username": user, "password": PASSWORD, "csrf": csrf.group(1)})
        run(f"inbox: {name}", "/inbox")
    return out


def plan(engine: sa.Engine, root: str) -> str:
    """The database's plan for the jurisdiction filter of ``root``'s unresolved warnings."""
    query = sa.select(WarningRow.id).where(subtree(root), WarningRow.status.in_(UNRESOLVED))  # type: ignore[attr-defined]
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.execute(sa.text(explain + sql)).all()
    return "\n".join("    " + " ".join(str(c) for c in r[-1:]) for r in rows)


def bench(url: str, n: int, requests: int) -> None:
    engine = open_store(url)
    t0 = time.perf_counter()
    fill(engine, n)
    accounts(engine, ResponderDirectory.load(SETTINGS.responders))
    print(f"{engine.dialect.name}: {n:,} warnings stored in {time.perf_counter() - t0:.1f} s")
    times = measure(engine, requests)
    base = statistics.median(times["baseline: login form"])
    for name, ms in times.items():
        p95 = statistics.quantiles(ms, n=20, method="inclusive")[18]
        print(f"  {name:<32} p50 {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms  max {max(ms):7.1f} ms  "
              f"(p50 {statistics.median(ms) / base:5.1f}× the baseline)")
    for label, root in (("street 510104001000", "510104001000"), ("city 510100000000", "510100000000")):
        print(f"  plan of the jurisdiction filter, {label}:\n{plan(engine, root)}")
    engine.dispose()


def main() -> None:
    """Run the benchmark (see the module)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--warnings", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = ap.parse_args()
    print(machine_line())
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            bench(f"sqlite:///{tmp}/web.db", args.warnings, args.requests)
    if args.backend in ("postgres", "both"):
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            bench(f"{PG_URL}?options=-csearch_path%3D{schema}", args.warnings, args.requests)
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
