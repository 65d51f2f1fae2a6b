"""The simulator's HTTP server: stdlib ``ThreadingHTTPServer`` in a background thread.

Endpoints (JSON, UTF-8):

- ``GET /api/{kind}?cursor=<opaque>&limit=N`` → ``{"items": [...], "next_cursor": "..." | null,
  "has_more": bool}``. ``next_cursor`` is where the next page starts (null only when nothing was ever
  served and nothing is there); keep it and ask again later to get only what is new.
- ``GET /regions`` → ``{code: name}`` of the simulated city.
- ``GET /health`` → ``{"ok": true}``.
- ``POST /admin/append-days?n=1`` → generate ``n`` more days of traffic (live data for a second run).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from integrations.simulator.faults import Faults, FaultState
from integrations.simulator.feed import CursorError, Feed, decode_cursor, encode_cursor, item_id
from integrations.simulator.generate import DEFAULT_DAYS, DEFAULT_START, KINDS, Entry, Generator
from integrations.simulator.month import generate
from integrations.simulator.regions import region_directory

MAX_LIMIT = 5000


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout test, Ctrl-C) is not the simulator's error: stay quiet.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class RunningSimulator:
    """A running simulator: ``.url``, ``.stop()``, a context manager; live data and faults are settable."""

    def __init__(
        self,
        server: ThreadingHTTPServer,
        thread: threading.Thread,
        gen: Generator,
        feed: Feed,
        faults: FaultState,
        days: int,
    ) -> None:
        self._server, self._thread, self.generator, self.feed = server, thread, gen, feed
        self._faults = faults
        self.days = days
        self.request_log: list[tuple[str, int]] = []
        """(path, status) of every request answered, in order."""

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def faults(self) -> Faults:
        """The faults injected now."""
        return self._faults.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._faults.set(faults)

    def append_days(self, n: int = 1) -> int:
        """Generate ``n`` more days of background traffic after the current end; returns items added."""
        start = len(self.generator.out)
        for day in range(self.days, self.days + n):
            self.generator.background_day(day)
        self.days += n
        new = sorted(self.generator.out[start:], key=lambda e: e.updated_at)
        return self.feed.add(new)

    def reveal_until(self, until: datetime | None) -> None:
        """Serve only what the departments had recorded by ``until`` (``None``: everything)."""
        self.feed.visible_until = until

    def _stamp(self) -> datetime:
        # Live additions are recorded "now" on the simulated clock, so they are visible at once.
        return self.feed.visible_until or datetime.now().astimezone()

    def append(self, kind: str, items: list[dict[str, Any]]) -> int:
        """Add raw items (department shape) to ``kind``'s feed."""
        return self.feed.add(Entry(kind, dict(i), self._stamp()) for i in items)

    def update(self, kind: str, id_: str, **changes: Any) -> dict[str, Any]:
        """Change an item at its department: it is served again, after the current cursor."""
        item = self.feed.get(kind, id_)
        if item is None:
            raise KeyError(f"no {kind} item {id_!r}")
        item.update(changes)
        self.feed.add([Entry(kind, item, self._stamp())])
        return item

    def items(self, kind: str) -> list[dict[str, Any]]:
        """Every item of ``kind`` as served now (latest versions, update order); for tests and demos."""
        out, _, _ = self.feed.page(kind, 0, 10**9)
        return out

    def stop(self, timeout: float = 5.0) -> None:
        """Shut the server down and wait up to ``timeout`` seconds for its thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=timeout)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    """The departments' HTTP API over the running simulator in ``sim_ref`` (set by :func:`_handler`)."""

    sim_ref: list[RunningSimulator]
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses one connection

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle + delayed ACK add 40 ms each.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests and demo own the console
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.sim_ref[0].request_log.append((self.path, status))

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), headers)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/admin/append-days":
            n = int(parse_qs(url.query).get("n", ["1"])[0])
            self._json(200, {"added": self.sim_ref[0].append_days(n)})
        else:
            self._json(404, {"error": f"no such endpoint {url.path}"})

    def do_GET(self) -> None:
        sim = self.sim_ref[0]
        url = urlsplit(self.path)
        if url.path == "/health":
            return self._json(200, {"ok": True})
        if url.path == "/regions":
            return self._json(200, region_directory())
        kind = url.path.removeprefix("/api/")
        if not url.path.startswith("/api/") or kind not in sim.feed.kinds:
            return self._json(404, {"error": f"no such endpoint {url.path}"})
        self._serve_page(sim, kind, parse_qs(url.query))

    def _serve_page(self, sim: RunningSimulator, kind: str, q: dict[str, list[str]]) -> None:
        """One page of a department's items, through the injected faults."""
        decision = sim._faults.decide()
        if sim.faults.latency_s or decision.delay_s:
            time.sleep(sim.faults.latency_s + decision.delay_s)
        if decision.status != 200:
            headers = {"Retry-After": str(decision.retry_after)} if decision.retry_after is not None else {}
            return self._json(decision.status, {"error": "simulated fault"}, headers)
        try:
            after = decode_cursor(q.get("cursor", [""])[0])
            limit = max(1, min(MAX_LIMIT, int(q.get("limit", ["500"])[0])))
        except (CursorError, ValueError) as exc:
            return self._json(400, {"error": str(exc)})
        items, last, more = sim.feed.page(kind, after, limit)
        body = {
            "items": sim._faults.shape_items(items),
            "next_cursor": encode_cursor(last) if last else None,
            "has_more": more,
        }
        # orjson: the departments' encoding shares this machine's two cores with the ingest under test
        # (their servers would not); the stdlib encoder cost three times the CPU per page.
        raw = orjson.dumps(body)
        if decision.truncate:
            raw = raw[: len(raw) // 2]
        self._send(200, raw)


def _handler(sim_ref: list[RunningSimulator]) -> type[BaseHTTPRequestHandler]:
    """A handler class bound to the simulator that ``sim_ref`` will hold once it is built."""
    return type("Handler", (_Handler,), {"sim_ref": sim_ref})


def start_simulator(
    *,
    seed: int = 20260105,
    port: int = 0,
    host: str = "127.0.0.1",
    start: datetime = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    scale: float = 1.0,
    bad_rate: float = 0.002,
    scenarios: bool = True,
    faults: Faults | None = None,
    reveal_until: datetime | None = None,
) -> RunningSimulator:
    """Generate the month for ``seed`` and serve it on ``host:port`` (0: a free port) in a thread.

    ``bad_rate`` is the share of malformed items (bad region codes, naive timestamps) the departments
    send, for the quarantine to show; tests that count records pass 0. ``reveal_until`` starts the
    simulated clock there: only what was recorded by then is served, until
    :meth:`RunningSimulator.reveal_until` moves it.
    """
    gen = generate(seed=seed, start=start, days=days, scale=scale, bad_rate=bad_rate, scenarios=scenarios)
    feed = Feed(KINDS)
    feed.add(gen.entries())
    feed.visible_until = reveal_until
    sim_ref: list[RunningSimulator] = []
    server = _Server((host, port), _handler(sim_ref))
    thread = threading.Thread(target=server.serve_forever, name="fenghuo-simulator", daemon=True)
    sim = RunningSimulator(server, thread, gen, feed, FaultState(faults or Faults()), days)
    sim_ref.append(sim)
    thread.start()
    return sim


__all__ = ["RunningSimulator", "item_id", "start_simulator"]
