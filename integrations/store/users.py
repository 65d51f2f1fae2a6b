"""Accounts of the responders' web workspace: one login per responder of the directory.

Each account names a responder of ``responders.yaml`` (and so a region node: the account sees and acts on
that node's subtree only). Passwords are hashed with Argon2id (argon2-cffi); the hash carries its own
parameters, so raising them later rehashes on the next login. Repeated failures lock the account for a
while; every change and every login, good or bad, is an audit row (``warning_id`` empty).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Field, Session, SQLModel, col, select

from domain.messages import N_, Message
from domain.responders import ResponderDirectory
from integrations.store.audit import append_audit
from integrations.store.columns import utcnow
from integrations.store.models import AwareDateTime
from integrations.store.web_sessions import revoke_sessions

MAX_FAILURES = 5
"""Failed logins in a row after which an account is locked."""
LOCKOUT = timedelta(minutes=15)
"""How long a locked account stays locked."""
MIN_PASSWORD = 10
"""Shortest password accepted."""

_HASHER = PasswordHasher()
# Verified when the username is unknown, so that a wrong name costs the same time as a wrong password.
_DUMMY = _HASHER.hash("fenghuo-no-such-user")


def _dt(**kw: Any) -> Any:
    return Field(sa_type=AwareDateTime, **kw)


class UserAccountRow(SQLModel, table=True):
    """A login of the web workspace, tied to one responder of the directory."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True)
    responder_id: str = Field(max_length=100, index=True)
    password_hash: str = Field(max_length=200)
    disabled: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = _dt(default=None, nullable=True)
    last_login_at: datetime | None = _dt(default=None, nullable=True)
    # TOTP (integrations/store/user_totp.py): the secret sealed under settings.totp_key, never in clear;
    # the last time step accepted, so that no code is accepted twice.
    totp_secret: str | None = Field(default=None, max_length=300, nullable=True)
    totp_last_step: int | None = Field(default=None, nullable=True)
    created_at: datetime = _dt(default_factory=utcnow)
    updated_at: datetime = _dt(default_factory=utcnow)


NO_USER = N_("没有用户 {username!r}：`fenghuo users list` 列出全部用户。")
"""The refusal of an unknown user name."""


class AccountError(Exception):
    """An account operation that cannot be done; the message (Chinese) says what to do instead."""


class LoginRefused(Exception):
    """A login refused: ``reason`` is ``bad-credentials``, ``locked`` or ``disabled``; ``until`` the end
    of a lock-out."""

    def __init__(self, reason: str, until: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason, self.until = reason, until


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (refuses one shorter than :data:`MIN_PASSWORD`)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(Message(N_("密码太短：至少 {n} 个字符。请换一个更长的密码。"), n=MIN_PASSWORD))
    return _HASHER.hash(password)


def get_account(*, session: Session, username: str) -> UserAccountRow | None:
    """The account named ``username``, or ``None``."""
    return session.exec(select(UserAccountRow).where(UserAccountRow.username == username)).first()


def list_accounts(*, session: Session) -> list[UserAccountRow]:
    """Every account, by username."""
    return list(session.exec(select(UserAccountRow).order_by(col(UserAccountRow.username))))


def add_account(
    *, session: Session, username: str, responder_id: str, password: str, directory: ResponderDirectory,
    actor: str, now: datetime,
) -> UserAccountRow:
    """Create an account for a responder of ``directory`` (audited ``user_added``)."""
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise AccountError(Message(N_("用户名不能为空、不能含空格，最长 100 个字符。")))
    if directory.responder(responder_id) is None:
        raise AccountError(Message(N_("责任人 {responder!r} 不在责任人名录（responders.yaml）中：请先在名录中添加，"
                                   "或用名录中的 id。"), responder=responder_id))
    if get_account(session=session, username=username) is not None:
        raise AccountError(Message(N_("用户 {username!r} 已存在：改密码请用 `fenghuo users passwd`。"),
                                   username=username))
    row = UserAccountRow(username=username, responder_id=responder_id, password_hash=hash_password(password),
                         created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    append_audit(session=session, warning_id=None, actor=actor, action="user_added", at=now,
                 detail={"username": username, "responder": responder_id})
    return row


def _existing(session: Session, username: str) -> UserAccountRow:
    row = get_account(session=session, username=username)
    if row is None:
        raise AccountError(Message(NO_USER, username=username))
    return row


def set_password(*, session: Session, username: str, password: str, actor: str, now: datetime) -> UserAccountRow:
    """Replace the password (and lift a lock-out); audited ``user_password``. Every open session of the
    account ends: whoever knew the old password is logged out."""
    row = _existing(session, username)
    revoke_sessions(session=session, username=username, now=now)
    row.password_hash, row.failed_logins, row.locked_until, row.updated_at = hash_password(password), 0, None, now
    session.add(row)
    append_audit(session=session, warning_id=None, actor=actor, action="user_password", at=now,
                 detail={"username": username})
    return row


def disable_account(*, session: Session, username: str, actor: str, now: datetime) -> UserAccountRow:
    """Disable the account: it can no longer log in, and its open sessions are revoked at once."""
    row = _existing(session, username)
    revoke_sessions(session=session, username=username, now=now)
    row.disabled, row.updated_at = True, now
    session.add(row)
    append_audit(session=session, warning_id=None, actor=actor, action="user_disabled", at=now,
                 detail={"username": username})
    return row


def authenticate(
    *, session: Session, username: str, password: str, client: str, now: datetime,
) -> UserAccountRow:
    """The account if ``password`` is right and it may log in; else :class:`LoginRefused`. An account
    enrolled in TOTP (``totp_secret`` set) is only half logged in: the caller asks for the code.

    Every attempt is audited (``login`` or ``login_failed`` with the reason and client address), in the
    caller's transaction: commit it even when this raises, or the failure count and the audit are lost.
    """
    row = get_account(session=session, username=username)
    detail = {"username": username[:100], "client": client}
    if row is None:
        _verify(_DUMMY, password)
        append_audit(session=session, warning_id=None, actor=f"web:{username[:90]}", action="login_failed",
                     reason="bad-credentials", at=now, detail=detail | {"known": False})
        raise LoginRefused("bad-credentials")
    actor = f"web:{row.username}"
    if row.locked_until is not None and now < row.locked_until:
        append_audit(session=session, warning_id=None, actor=actor, action="login_failed", reason="locked",
                     at=now, detail=detail)
        raise LoginRefused("locked", row.locked_until)
    if not _verify(row.password_hash, password):
        row.failed_logins += 1
        reason = "bad-credentials"
        if row.failed_logins >= MAX_FAILURES:
            row.locked_until, row.failed_logins, reason = now + LOCKOUT, 0, "locked"
        session.add(row)
        append_audit(session=session, warning_id=None, actor=actor, action="login_failed", reason=reason,
                     at=now, detail=detail)
        raise LoginRefused(reason, row.locked_until if reason == "locked" else None)
    if row.disabled:
        append_audit(session=session, warning_id=None, actor=actor, action="login_failed", reason="disabled",
                     at=now, detail=detail)
        raise LoginRefused("disabled")
    if _HASHER.check_needs_rehash(row.password_hash):
        row.password_hash = _HASHER.hash(password)
    if row.totp_secret:
        # The password was right but the login is not done: the code's step (user_totp.py) finishes it,
        # and a wrong code still counts towards the lock-out, so the failure count stays as it is.
        session.add(row)
        append_audit(session=session, warning_id=None, actor=actor, action="login_password_ok", at=now,
                     detail=detail | {"responder": row.responder_id, "pending": "totp"})
        return row
    row.failed_logins, row.locked_until, row.last_login_at = 0, None, now
    session.add(row)
    append_audit(session=session, warning_id=None, actor=actor, action="login", at=now,
                 detail=detail | {"responder": row.responder_id})
    return row


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def sso_login(*, session: Session, username: str, provider: str, client: str, now: datetime) -> UserAccountRow:
    """The account a single sign-on identity names, if it exists and may log in; else :class:`LoginRefused`
    (``unknown``, ``disabled`` or ``locked``). No account is ever created here. Audited like a password
    login (``login`` / ``login_failed``, with the provider): commit even when this raises."""
    row = get_account(session=session, username=username)
    actor = f"web:{username[:90]}"
    detail = {"username": username[:100], "client": client, "method": "oidc", "provider": provider[:200]}
    reason = ("unknown" if row is None else "disabled" if row.disabled
              else "locked" if row.locked_until is not None and now < row.locked_until else "")
    if row is None or reason:
        append_audit(session=session, warning_id=None, actor=actor, action="login_failed",
                     reason=f"oidc-{reason}", at=now, detail=detail)
        raise LoginRefused(reason)
    row.failed_logins, row.locked_until, row.last_login_at = 0, None, now
    session.add(row)
    append_audit(session=session, warning_id=None, actor=actor, action="login", at=now,
                 detail=detail | {"responder": row.responder_id})
    return row
