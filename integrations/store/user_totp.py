"""TOTP of the workspace's accounts in the store: enrol, disable, and finish a login with a code's step.

The store keeps the secret as the caller seals it (:class:`integrations.totp.SecretBox`) and never sees it
in clear, nor the key (the store reads no settings). Accepting a step is one conditional UPDATE (the
step must be later than the last one accepted), so two requests racing with the same code cannot both
win, on SQLite as on PostgreSQL. A wrong code counts as a failed login: the same lock-out as passwords.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from domain.messages import N_, Message
from domain.responders import ResponderDirectory
from integrations.store.audit import append_audit
from integrations.store.users import LOCKOUT, MAX_FAILURES, NO_USER, AccountError, UserAccountRow, get_account
from integrations.totp import offered


def enrol_totp(
    *, session: Session, username: str, sealed: str, directory: ResponderDirectory, actor: str, now: datetime,
) -> UserAccountRow:
    """Store the sealed secret of a (re-)enrolment; only district and city tier accounts may enrol.

    Audited ``user_totp_enrolled`` (without the secret)."""
    row = get_account(session=session, username=username)
    if row is None:
        raise AccountError(Message(NO_USER, username=username))
    person = directory.responder(row.responder_id)
    if person is None:
        raise AccountError(Message(N_("用户 {username!r} 的责任人 {responder!r} "
                                      "已不在责任人名录中，无法绑定动态口令。"),
                                   username=username, responder=row.responder_id))
    if not offered(person.node):
        raise AccountError(Message(N_("动态口令只向区县级和市级账号提供；该账号属于街道及以下层级，无需绑定。")))
    row.totp_secret, row.totp_last_step, row.updated_at = sealed, None, now
    session.add(row)
    append_audit(session=session, warning_id=None, actor=actor, action="user_totp_enrolled", at=now,
                 detail={"username": username})
    return row


def disable_totp(*, session: Session, username: str, actor: str, now: datetime) -> UserAccountRow:
    """Forget the account's TOTP secret (it logs in with the password alone); audited ``user_totp_disabled``."""
    row = get_account(session=session, username=username)
    if row is None:
        raise AccountError(Message(NO_USER, username=username))
    if row.totp_secret is None:
        raise AccountError(Message(N_("用户 {username!r} 没有绑定动态口令，无需停用。"), username=username))
    row.totp_secret, row.totp_last_step, row.updated_at = None, None, now
    session.add(row)
    append_audit(session=session, warning_id=None, actor=actor, action="user_totp_disabled", at=now,
                 detail={"username": username})
    return row


def accept_step(*, session: Session, username: str, step: int, client: str, now: datetime) -> bool:
    """Finish the login with a right code's time ``step``; False (audited ``totp-replay``) if that step or
    a later one was accepted already. On success: the failure count cleared, audited ``login``."""
    table = UserAccountRow.__table__  # type: ignore[attr-defined]
    done = session.execute(
        sa.update(table)
        .where(table.c.username == username, table.c.totp_secret.is_not(None),
               sa.or_(table.c.totp_last_step.is_(None), table.c.totp_last_step < step))
        .values(totp_last_step=step, failed_logins=0, locked_until=None, last_login_at=now)
    )
    accepted = bool(done.rowcount)  # type: ignore[attr-defined]
    if accepted:
        append_audit(session=session, warning_id=None, actor=f"web:{username}", action="login", at=now,
                     detail={"username": username, "client": client, "second_factor": "totp"})
    else:
        append_audit(session=session, warning_id=None, actor=f"web:{username}", action="login_failed",
                     reason="totp-replay", at=now, detail={"username": username, "client": client})
    session.expire_all()  # the UPDATE bypassed the identity map
    return accepted


def refuse_code(*, session: Session, username: str, client: str, now: datetime) -> datetime | None:
    """Count a wrong code as a failed login (audited ``totp-bad-code``); the end of the lock-out if this
    failure locked the account, else ``None``."""
    row = get_account(session=session, username=username)
    if row is None:
        return None
    row.failed_logins += 1
    reason = "totp-bad-code"
    if row.failed_logins >= MAX_FAILURES:
        row.locked_until, row.failed_logins, reason = now + LOCKOUT, 0, "locked"
    session.add(row)
    append_audit(session=session, warning_id=None, actor=f"web:{username}", action="login_failed", reason=reason,
                 at=now, detail={"username": username, "client": client})
    return row.locked_until if reason == "locked" else None


def locked_until(*, session: Session, username: str, now: datetime) -> datetime | None:
    """The end of the account's lock-out if it is locked at ``now`` (a code is not even checked then)."""
    row = get_account(session=session, username=username)
    until = row.locked_until if row is not None else None
    return until if until is not None and now < until else None
