"""A reference webhook receiver: what a receiving system should do with Fenghuo's webhooks.

1. Check ``X-Fenghuo-Signature`` (hex HMAC-SHA256 over ``f"{timestamp}.{body}"`` under the shared
   secret, :func:`integrations.notify.webhook.verify`); refuse a bad one with 401.
2. Drop duplicates by ``X-Fenghuo-Idempotency-Key``: delivery is at least once, so a resend after a crash
   or a lost answer carries the same key. Answer 200 to a duplicate (it *was* delivered) but act once.

It runs on ``127.0.0.1`` in a thread (``http.server``) and records what it saw; the fault tests and the
notification benchmark use it, and ``fail_first`` makes it answer 503 to the first requests (a channel
that is down for a while). Not a production server.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import SecretStr

from integrations.notify.webhook import verify


@dataclass(frozen=True)
class Seen:
    """One request the receiver answered."""

    key: str
    status: int
    at: float
    """Wall time (``time.time()``) it arrived."""


class WebhookReceiver:
    """Verifies, dedups by idempotency key, records; ``with WebhookReceiver(secret) as r: r.url``."""

    def __init__(self, secret: SecretStr | str, *, fail_first: int = 0, fail_status: int = 503) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.requests: list[Seen] = []
        self.accepted: dict[str, dict[str, Any]] = {}
        """First accepted body per idempotency key (what the receiving system acts on)."""
        self.accepted_at: dict[str, float] = {}
        self.duplicates: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        """The URL to post to."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def ok_count(self, key: str) -> int:
        """How many requests with ``key`` were answered 200."""
        with self._lock:
            return sum(1 for s in self.requests if s.key == key and s.status == 200)

    def start(self) -> WebhookReceiver:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, key: str, timestamp: str, signature: str, body: str) -> int:
        """The status for one request, recording it (under the lock: requests arrive on threads)."""
        now = time.time()
        with self._lock:
            if not key or not verify(self.secret, timestamp, body, signature):
                status = 401
            elif len(self.requests) < self.fail_first:
                status = self.fail_status
            else:
                status = 200
                if key in self.accepted:
                    self.duplicates.append(key)  # delivered before: acknowledge, act on nothing
                else:
                    self.accepted[key] = json.loads(body)
                    self.accepted_at[key] = now
            self.requests.append(Seen(key, status, now))
        return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the sender's connection pool is reused

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                status = receiver._answer(self.headers.get("X-Fenghuo-Idempotency-Key", ""),
                                          self.headers.get("X-Fenghuo-Timestamp", ""),
                                          self.headers.get("X-Fenghuo-Signature", ""), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests and benchmarks read the records, not a log."""

        return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve in this process (``python -m integrations.notify.receiver --secret S``): print the URL, serve
    until stdin closes, then print one JSON line: requests, duplicates, and each key's acceptance time."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Reference Fenghuo webhook receiver (local, for tests).")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args(argv)
    with WebhookReceiver(args.secret, fail_first=args.fail_first) as receiver:
        print(receiver.url, flush=True)
        sys.stdin.read()  # the parent closes our stdin to stop us
    print(json.dumps({"requests": len(receiver.requests), "duplicates": len(receiver.duplicates),
                      "accepted_at": receiver.accepted_at}), flush=True)


if __name__ == "__main__":
    main()
