"""A webhook receiver on loopback and a responders directory whose every channel also posts to it (tests and
bench/latency_bench.py)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

DEFAULT_RESPONDERS = Path(__file__).resolve().parents[1] / "integrations" / "data" / "responders.yaml"


@dataclass(frozen=True)
class Received:
    """One POST the receiver accepted: when (``time.time()``), its idempotency key, its JSON body."""

    at: float
    key: str
    body: dict[str, Any]


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (a free port) that answers 200 to every POST and keeps what came."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with outer._lock:
                    outer.received.append(Received(time.time(), self.headers.get("X-Fenghuo-Idempotency-Key", ""),
                                                   body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: a bench posts thousands

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    def snapshot(self) -> list[Received]:
        """What came so far (a copy)."""
        with self._lock:
            return list(self.received)

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        """What came, once at least ``count`` posts did or ``timeout`` seconds passed."""
        deadline = time.monotonic() + timeout
        while len(got := self.snapshot()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return got

    def close(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()


def webhook_directory(path: Path, url: str, source: Path = DEFAULT_RESPONDERS) -> Path:
    """A copy of the responders directory ``source`` at ``path`` in which every responder also has a webhook
    channel to ``url`` (so whoever a warning is routed to, the receiver hears of it)."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    people = [*data.get("leadership", [])]
    for node in data["nodes"].values():
        people += node.get("responders", [])
    for person in people:
        person["channels"] = [*person.get("channels", []), {"type": "webhook", "address": url}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
