"""Signed one-click action links: ``{base_url}/a/{token}``, where the token carries the warning, the action
(``ack`` or ``resolve``), the responder, the expiry and a nonce, and an HMAC-SHA256 over all of them under
``settings.link_secret``.

A link cannot be altered (any change breaks the signature), expires (``expires_at``), and acts once (its
nonce is recorded when it is used: :func:`consume_link`, table ``action_link``).

Token layout, dot-separated: ``v1.{warning_id}.{action}.{responder}.{expires unix s}.{nonce}.{signature}``,
the responder in lower-case base32 and the nonce and signature broken into groups of at most six
characters by ``-``. The groups are there because notification texts pass through
:func:`domain.privacy.mask`, which masks long digit-rich runs of letters and digits: a token so grouped
comes out of ``mask`` unchanged, so a link survives being rendered into a masked message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from domain.messages import N_, Message
from integrations.settings import get_settings
from integrations.store.models import ActionLinkRow

Action = Literal["ack", "resolve"]
ACTIONS: tuple[Action, ...] = ("ack", "resolve")
FIELDS = ("v", "warning_id", "action", "responder", "expires", "nonce", "sig")
"""The parameters of a link, in token order."""

_NONCE = re.compile(r"^[A-Za-z0-9]{8,64}$")
_GROUP = 6


_NOT_A_LINK = Message(N_("不是烽火的操作链接"))
_USED = Message(N_("链接已使用过"))


class LinkError(Exception):
    """A link that must not act. ``reason``: ``malformed``, ``tampered``, ``expired`` or ``used``;
    ``status`` is the HTTP status to answer with (403 for forged links, 410 for spent ones)."""

    def __init__(self, reason: Literal["malformed", "tampered", "expired", "used"], message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = 410 if reason in ("expired", "used") else 403


@dataclass(frozen=True)
class LinkClaim:
    """What a verified link allows: ``responder`` may do ``action`` to ``warning_id`` once, before
    ``expires_at``."""

    warning_id: int
    action: Action
    responder: str
    expires_at: datetime
    nonce: str


def _key(secret: SecretStr | None) -> bytes:
    return (secret or get_settings().link_secret).get_secret_value().encode("utf-8")


def _group(text: str) -> str:
    return "-".join(text[i : i + _GROUP] for i in range(0, len(text), _GROUP))


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes:
    text = text.upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def _signature(warning_id: int, action: str, responder: str, expires: int, nonce: str, key: bytes) -> str:
    # Newline-joined with a version tag: no field can run into the next, and v2 can never verify as v1.
    canon = "\n".join(("fenghuo-link-v1", str(warning_id), action, responder, str(expires), nonce))
    return _b32(hmac.new(key, canon.encode("utf-8"), hashlib.sha256).digest())


def new_nonce() -> str:
    """A fresh random nonce (128 bits, hex)."""
    return secrets.token_hex(16)


def make_token(
    warning_id: int, action: Action, responder: str, expires_at: datetime, nonce: str,
    *, secret: SecretStr | None = None,
) -> str:
    """The signed token of a link (the part after ``/a/``)."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
    if expires_at.tzinfo is None:
        raise ValueError("naive datetime refused: expires_at must be timezone-aware")
    if not _NONCE.match(nonce):
        raise ValueError("nonce must be 8-64 letters or digits")
    expires = int(expires_at.timestamp())
    sig = _signature(warning_id, action, responder, expires, nonce, _key(secret))
    parts = ("v1", str(warning_id), action, _group(_b32(responder.encode("utf-8"))), str(expires),
             _group(nonce), _group(sig))
    return ".".join(parts)


def make_link(
    base_url: str, warning_id: int, action: Action, responder: str, expires_at: datetime,
    nonce: str | None = None, *, secret: SecretStr | None = None,
) -> str:
    """A signed one-click URL: ``responder`` may ``action`` the warning once, until ``expires_at``."""
    token = make_token(warning_id, action, responder, expires_at, nonce or new_nonce(), secret=secret)
    return f"{base_url.rstrip('/')}/a/{token}"


def parse_token(token: str) -> dict[str, str]:
    """The link parameters of ``token`` (see :data:`FIELDS`), unverified; :class:`LinkError` if malformed."""
    parts = token.strip("/").split(".")
    if len(parts) != len(FIELDS) or parts[0] != "v1":
        raise LinkError("malformed", _NOT_A_LINK)
    params = dict(zip(FIELDS, parts, strict=True))
    for name in ("responder", "nonce", "sig"):
        params[name] = params[name].replace("-", "")
    try:
        params["responder"] = _unb32(params["responder"]).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise LinkError("malformed", _NOT_A_LINK) from exc
    return params


def verify_link(
    params: Mapping[str, str], now: datetime, *, secret: SecretStr | Sequence[SecretStr] | None = None
) -> LinkClaim:
    """The claim of a link's parameters if the signature is right and it has not expired at ``now``.

    ``secret`` may be a list of keys (rotation, ``Settings.link_keys``): a signature by any of them counts.

    Raises :class:`LinkError`: ``malformed``/``tampered`` (403) or ``expired`` (410). Whether it was
    already used is the store's to say (:func:`consume_link`).
    """
    try:
        warning_id, expires = int(params["warning_id"]), int(params["expires"])
        action, responder, nonce, sig = params["action"], params["responder"], params["nonce"], params["sig"]
    except (KeyError, ValueError) as exc:
        raise LinkError("malformed", _NOT_A_LINK) from exc
    keys = [secret] if secret is None or isinstance(secret, SecretStr) else list(secret)
    # Constant-time, and checked before anything else is believed: unsigned fields mean nothing.
    signed = [hmac.compare_digest(_signature(warning_id, action, responder, expires, nonce, _key(k)), sig)
              for k in keys]
    if not any(signed) or action not in ACTIONS:
        raise LinkError("tampered", Message(N_("链接签名不符：链接被改动或伪造")))
    expires_at = datetime.fromtimestamp(expires, UTC)
    if now >= expires_at:
        raise LinkError("expired", Message(N_("链接已于 {at} 过期"), at=expires_at.isoformat()))
    return LinkClaim(warning_id=warning_id, action="ack" if action == "ack" else "resolve",
                     responder=responder, expires_at=expires_at, nonce=nonce)


def consume_link(*, session: Session, claim: LinkClaim, now: datetime) -> ActionLinkRow:
    """Record the link as used, in the caller's transaction; :class:`LinkError` ``used`` if it was.

    The nonce is the primary key, so two concurrent uses cannot both succeed: one insert fails. Call it
    *after* the action in the same transaction: the action's own refusal audit writes in a transaction
    of its own, which on SQLite must not wait behind this insert's write lock.
    """
    ensure_unused(session=session, nonce=claim.nonce)
    row = ActionLinkRow(nonce=claim.nonce, warning_id=claim.warning_id, action=claim.action,
                        responder=claim.responder, used_at=now)
    # No SAVEPOINT here: on pysqlite, releasing a savepoint opened outside BEGIN commits it. A collision
    # leaves the caller's transaction failed, and the caller rolls it back (the link then did nothing).
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise LinkError("used", _USED) from exc
    return row


def ensure_unused(*, session: Session, nonce: str) -> None:
    """Raise :class:`LinkError` ``used`` if the link with ``nonce`` was used (a read: takes no lock)."""
    if session.get(ActionLinkRow, nonce) is not None:
        raise LinkError("used", _USED)
