"""Server-side sessions of the web workspace and the responders' personal feed tokens.

A session cookie (signed, :mod:`integrations.workspace.sessions`) names a row here by a random id; only
the id's SHA-256 is stored, so a copy of the database opens no session. A session is valid while its row
exists, has not expired and is not revoked: logging out revokes it, and disabling an account or changing
its password (:mod:`integrations.store.users`) revokes all of that account's sessions at once.

A feed token lets a responder's feed reader fetch the CAP feed of their own subtree. It is printed once
and stored hashed; issuing a new one revokes the previous one, and it can be revoked on its own. The
token's account (and so its responder and subtree) is looked up on every request: a disabled account's
token opens nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from integrations.store import models as _models  # noqa: F401  isort: skip  (registers the tables first)
from integrations.store.audit import append_audit
from integrations.store.columns import _dt, utcnow

FEED_TOKEN_PREFIX = "fhf_"  # nosec B105: a public prefix, not a secret
"""Feed tokens start with this, so a leaked one is recognisable (and scanners can find it)."""
PRUNE_AFTER = timedelta(days=1)
"""Expired or revoked sessions older than this are deleted when a new session starts."""


def digest(secret: str) -> str:
    """The SHA-256 (hex) under which a session id or feed token is stored. A plain hash suffices: both
    are 32 random bytes, so there is nothing to guess that a slow hash would protect."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class WebSessionRow(SQLModel, table=True):
    """One login session of the workspace (the cookie carries the id whose hash is ``id_hash``)."""

    __tablename__ = "session"

    id: int | None = Field(default=None, primary_key=True)
    id_hash: str = Field(max_length=64, unique=True)
    username: str = Field(max_length=100, index=True)
    created_at: datetime = _dt(default_factory=utcnow)
    expires_at: datetime = _dt()
    revoked_at: datetime | None = _dt(default=None, nullable=True)


class FeedTokenRow(SQLModel, table=True):
    """A responder's personal feed token (only its hash is kept)."""

    __tablename__ = "feed_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    username: str = Field(max_length=100, index=True)
    created_at: datetime = _dt(default_factory=utcnow)
    revoked_at: datetime | None = _dt(default=None, nullable=True)


def start_session(*, session: Session, username: str, now: datetime, ttl: timedelta) -> str:
    """Record a new session of ``username`` valid until ``now + ttl``; return its id (for the cookie only:
    it is not kept). Old expired or revoked sessions of everyone are pruned on the way."""
    if now.tzinfo is None:
        raise ValueError("naive datetime refused")
    stale = now - PRUNE_AFTER
    session.execute(sa.delete(WebSessionRow).where(
        sa.or_(col(WebSessionRow.expires_at) < stale, col(WebSessionRow.revoked_at) < stale)))
    sid = secrets.token_urlsafe(32)
    session.add(WebSessionRow(id_hash=digest(sid), username=username, created_at=now, expires_at=now + ttl))
    session.flush()
    return sid


def session_user(*, session: Session, sid: str, now: datetime) -> str | None:
    """The username of the live session ``sid`` (not expired, not revoked), or ``None``."""
    row = session.exec(select(WebSessionRow).where(WebSessionRow.id_hash == digest(sid))).first()
    if row is None or row.revoked_at is not None or now >= row.expires_at:
        return None
    return row.username


def end_session(*, session: Session, sid: str, now: datetime) -> bool:
    """Revoke the session ``sid`` (logout); False if there was no live one."""
    row = session.exec(select(WebSessionRow).where(WebSessionRow.id_hash == digest(sid))).first()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    session.add(row)
    return True


def revoke_sessions(*, session: Session, username: str, now: datetime) -> int:
    """Revoke every live session of ``username`` (account disabled or password changed); how many."""
    result = session.execute(
        sa.update(WebSessionRow)
        .where(col(WebSessionRow.username) == username, col(WebSessionRow.revoked_at).is_(None),
               col(WebSessionRow.expires_at) > now)
        .values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def issue_feed_token(*, session: Session, username: str, actor: str, now: datetime) -> str:
    """A new feed token for ``username`` (audited ``feed_token_issued``); the previous one is revoked.
    The caller shows it once: only its hash is stored."""
    revoke_feed_tokens(session=session, username=username, actor=actor, now=now, audit=False)
    token = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(FeedTokenRow(token_hash=digest(token), username=username, created_at=now))
    append_audit(session=session, warning_id=None, actor=actor, action="feed_token_issued", at=now,
                 detail={"username": username})
    return token


def revoke_feed_tokens(*, session: Session, username: str, actor: str, now: datetime, audit: bool = True) -> int:
    """Revoke ``username``'s feed tokens (audited ``feed_token_revoked``); how many were live."""
    result = session.execute(
        sa.update(FeedTokenRow)
        .where(col(FeedTokenRow.username) == username, col(FeedTokenRow.revoked_at).is_(None))
        .values(revoked_at=now))
    count = int(getattr(result, "rowcount", 0) or 0)
    if audit:
        append_audit(session=session, warning_id=None, actor=actor, action="feed_token_revoked", at=now,
                     detail={"username": username, "revoked": count})
    return count


def feed_token_user(*, session: Session, token: str) -> str | None:
    """The username a live feed token belongs to, or ``None``."""
    if not token.startswith(FEED_TOKEN_PREFIX):
        return None
    row = session.exec(select(FeedTokenRow).where(FeedTokenRow.token_hash == digest(token),
                                                  col(FeedTokenRow.revoked_at).is_(None))).first()
    return row.username if row else None
