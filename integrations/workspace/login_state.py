"""Short-lived signed state between the steps of a login, and the one place a login becomes a session.

A password accepted for an account with TOTP, or a trip to the single sign-on provider, leaves the
browser holding a small signed cookie (HMAC-SHA256 under the session keys, labelled by its purpose so
that one kind can never pass for another, nor for a session): who, until when, what the next step needs.

:func:`signed_in` is where every login path — password, password + TOTP, single sign-on — ends: it
issues the session cookie. Server-side sessions will hook in here, and only here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.responses import RedirectResponse
from pydantic import SecretStr

from integrations.settings import Settings
from integrations.workspace.sessions import (
    SESSION_COOKIE,
    SESSION_TTL,
    remember_session,
    signed_value,
    verified_payload,
)


def _mac(key: SecretStr, purpose: str, payload: bytes) -> str:
    label = f"fenghuo-{purpose}-v1\n".encode()
    mac = hmac.new(key.get_secret_value().encode("utf-8"), label + payload, hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")


def seal(key: SecretStr, purpose: str, data: dict[str, Any], *, ttl: timedelta, now: datetime) -> str:
    """A cookie value carrying ``data`` (JSON) for ``purpose`` until ``now + ttl``."""
    payload = json.dumps({**data, "_e": int((now + ttl).timestamp())}, separators=(",", ":")).encode("utf-8")
    return signed_value(payload, _mac(key, purpose, payload))


def unseal(keys: Sequence[SecretStr], purpose: str, cookie: str | None, now: datetime) -> dict[str, Any] | None:
    """The data of a cookie sealed for ``purpose`` by one of ``keys`` and not expired; else ``None``."""
    payload = verified_payload(cookie, keys, lambda k, p: _mac(k, purpose, p))
    if payload is None:
        return None
    try:
        data = json.loads(payload)
        expires = int(data.pop("_e"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return data if isinstance(data, dict) and now.timestamp() < expires else None


def safe_target(target: str | None) -> str:
    """``target`` if it is a path of this site, else the inbox (no open redirect after login)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/inbox"
    return target


def signed_in(engine: sa.Engine, username: str, target: str, *, settings: Settings, now: datetime
              ) -> RedirectResponse:
    """The answer that ends a successful login (password, TOTP or OIDC): a server-side session
    (:func:`remember_session`) and its cookie, then on to ``target``."""
    cookie = remember_session(engine, settings.session_secret, username, now)
    resp = RedirectResponse(safe_target(target), status_code=303)
    resp.set_cookie(SESSION_COOKIE, cookie, max_age=int(SESSION_TTL.total_seconds()), httponly=True,
                    samesite="lax", secure=settings.public_base_url.startswith("https://"))
    return resp
