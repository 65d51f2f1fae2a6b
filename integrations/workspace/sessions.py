"""Sessions, CSRF tokens and login throttling of the workspace.

A session is a row in the store (:mod:`integrations.store.web_sessions`) named by a random id, carried in
a signed cookie (HMAC-SHA256 under ``settings.session_secret``; HttpOnly, SameSite=Lax) with the
username, the session's CSRF token and its expiry. Every request checks the row and reloads the account,
so logging out, disabling the account or changing its password ends the session at once. Every login
path starts a session with :func:`remember_session`. Before login, the login form's CSRF
token is a random value in a cookie of its own that the form must echo (double submit).

Login attempts are throttled in memory per client address and per account (a sliding window); the
store's lock-out after repeated failures (:mod:`integrations.store.users`) outlives a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import SecretStr

from integrations.store.db import session_scope
from integrations.store.web_sessions import start_session

SESSION_COOKIE = "fenghuo_session"
LOGIN_COOKIE = "fenghuo_login"
SESSION_TTL = timedelta(hours=12)
"""A session lasts one working shift."""


@dataclass(frozen=True)
class SessionData:
    """What a valid session cookie says."""

    username: str
    csrf: str
    expires: datetime
    sid: str = ""
    """The server-side session's id (its row is found by the id's hash); empty: no row, refused."""


def _sign(key: SecretStr, payload: bytes) -> str:
    mac = hmac.new(key.get_secret_value().encode("utf-8"), b"fenghuo-session-v1\n" + payload, hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")


def signed_value(payload: bytes, signature: str) -> str:
    """A cookie value: the payload (unpadded URL-safe base64), a dot, its signature."""
    return f"{base64.urlsafe_b64encode(payload).decode('ascii').rstrip('=')}.{signature}"


def verified_payload(cookie: str | None, keys: Sequence[SecretStr],
                     mac: Callable[[SecretStr, bytes], str]) -> bytes | None:
    """The payload of a :func:`signed_value` whose signature ``mac`` makes with one of ``keys`` (every
    key is tried, in constant time each); ``None`` for anything else."""
    if not cookie or "." not in cookie:
        return None
    body, sig = cookie.rsplit(".", 1)
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        return None
    return payload if any([hmac.compare_digest(mac(k, payload), sig) for k in keys]) else None


def new_session(key: SecretStr, username: str, now: datetime, sid: str = "") -> tuple[str, SessionData]:
    """The signed cookie naming session ``sid`` of ``username``, and what it says (no store row: use
    :func:`remember_session` to start a session)."""
    data = SessionData(username=username, csrf=secrets.token_urlsafe(24), expires=now + SESSION_TTL, sid=sid)
    payload = json.dumps({"u": data.username, "c": data.csrf, "e": int(data.expires.timestamp()), "s": sid},
                         separators=(",", ":")).encode("utf-8")
    return signed_value(payload, _sign(key, payload)), data


def read_session(key: SecretStr | Sequence[SecretStr], cookie: str | None, now: datetime) -> SessionData | None:
    """The session a cookie carries if its signature (by ``key``, or any of a rotation's keys) is right and
    it has not expired; else ``None``."""
    payload = verified_payload(cookie, [key] if isinstance(key, SecretStr) else list(key), _sign)
    if payload is None:
        return None
    try:
        raw = json.loads(payload)
        expires = datetime.fromtimestamp(int(raw["e"]), now.tzinfo)
        data = SessionData(username=str(raw["u"]), csrf=str(raw["c"]), expires=expires, sid=str(raw.get("s", "")))
    except (ValueError, KeyError, TypeError):
        return None
    return data if now < data.expires else None


def remember_session(engine: sa.Engine, key: SecretStr, username: str, now: datetime) -> str:
    """Start a session of ``username`` (already authenticated) and return the cookie value to set as
    :data:`SESSION_COOKIE` (HttpOnly, SameSite=Lax, max-age :data:`SESSION_TTL`).

    The one function every login path calls (password, and any later one such as TOTP or OIDC): it
    writes the server-side row (committed here) and signs the cookie with ``key``
    (``settings.session_secret``)."""
    with session_scope(engine) as s:
        sid = start_session(session=s, username=username, now=now, ttl=SESSION_TTL)
    cookie, _ = new_session(key, username, now, sid)
    return cookie


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token; an absent one never matches."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


class Throttle:
    """At most ``limit`` events per key within ``window`` (sliding), in memory and thread-safe."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: datetime) -> bool:
        """Count one event for ``key``; False if the key is over its limit (the event is still counted)."""
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            seen.append(now)
            if len(self._seen) > 10_000:  # forget idle keys, so a scan of addresses cannot fill memory
                for idle in [k for k, v in self._seen.items() if not v or v[-1] <= now - self.window]:
                    del self._seen[idle]
            return len(seen) <= self.limit
