"""libFuzzer harness: the push intake, any bytes as the body of ``POST /v1/intake/{source}``.

The input's first byte picks the item shape (the source's own, or ``?shape=record``); the rest is the
body, posted with a valid token to the 110 source on a SQLite store (migrated once, kept across inputs:
duplicates and heartbeats going backwards are part of the game). The answer must be 202, or a refusal
the module documents for a body — 400 (not UTF-8, not JSON, too deep, empty), 413 (over the limit),
422 (a refused heartbeat) — with a JSON ``error`` and a message; never a 500 and never an exception.

    uv run python tests/fuzz/fuzz_intake.py /tmp/corpus-intake tests/fuzz/seeds/intake -max_total_time=600
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import fastapi
import sqlalchemy  # noqa: F401
from fastapi.testclient import TestClient

from tests.fuzz.atheris_main import fuzz, instrumented

with instrumented():
    # What the intake imports when first called, imported here so that it is instrumented too.
    import domain.regions
    import domain.watermarks  # noqa: F401
    import integrations.ingest.run
    import integrations.records_io
    import integrations.sources.factory  # noqa: F401
    from integrations.intake_api import intake_router
    from integrations.settings import Settings
    from integrations.store.db import open_store

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
TOKEN = "fuzz-push-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = 2_048
"""The body limit: below libFuzzer's longest input (4,096 bytes), so 413 is reached too."""
ALLOWED = {202, 400, 413, 422}

_engine = open_store(f"sqlite:///{tempfile.mkdtemp(prefix='fuzz-intake-')}/intake.db")
_app = fastapi.FastAPI()
_app.include_router(intake_router(_engine, Settings(source_secrets={"public-safety-push": TOKEN},
                                                     intake_max_bytes=LIMIT), clock=lambda: NOW))
CLIENT = TestClient(_app)
CLIENT.__enter__()  # one event loop and portal for the whole run (libFuzzer never returns to close it)


def test_one_input(data: bytes) -> None:
    """One push: answered 202, 400, 413 or 422 with a JSON reason; anything else is a crash."""
    if not data:
        return
    params = {"shape": "record"} if data[0] & 1 else {}
    r = CLIENT.post("/v1/intake/public-safety", content=data[1:], headers=AUTH, params=params)
    assert r.status_code in ALLOWED, (r.status_code, r.text[:500])
    body = r.json()
    if r.status_code == 202:
        assert set(body) == {"accepted", "duplicates", "quarantined", "complete_up_to"}, body
    else:
        assert isinstance(body.get("error"), str) and body.get("message"), body


if __name__ == "__main__":
    fuzz(test_one_input)
