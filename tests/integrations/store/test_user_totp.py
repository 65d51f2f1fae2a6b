"""TOTP columns of the accounts on both backends: sealed secret, no step accepted twice, wrong codes lock
the account like wrong passwords, a half login is not a login, single sign-on never creates an account."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from integrations.store.db import session_scope
from integrations.store.models import AuditRow
from integrations.store.user_totp import accept_step, disable_totp, enrol_totp, locked_until, refuse_code
from integrations.store.users import (
    LOCKOUT,
    MAX_FAILURES,
    AccountError,
    LoginRefused,
    UserAccountRow,
    authenticate,
    get_account,
    sso_login,
)
from tests.integrations.workspace.conftest import NOW, PASSWORD, directory, seed

SEALED = "gAAAA-sealed-elsewhere"


@pytest.fixture
def accounts(engine: sa.Engine) -> sa.Engine:
    seed(engine)
    return engine


def _audit(engine: sa.Engine) -> list[tuple[str, str | None]]:
    with Session(engine) as s:
        rows = s.exec(select(AuditRow).where(col(AuditRow.warning_id).is_(None)).order_by(col(AuditRow.id)))
        return [(a.action, a.reason) for a in rows]


def _enrol(engine: sa.Engine, user: str = "district") -> None:
    with session_scope(engine) as s:
        enrol_totp(session=s, username=user, sealed=SEALED, directory=directory(), actor="cli:test", now=NOW)


def _accept(engine: sa.Engine, step: int, user: str = "district") -> bool:
    with session_scope(engine) as s:
        return accept_step(session=s, username=user, step=step, client="10.0.0.1", now=NOW)


def test_enrolment_stores_the_sealed_secret_for_district_and_city_only(accounts: sa.Engine) -> None:
    _enrol(accounts)
    _enrol(accounts, "leader")
    with Session(accounts) as s:
        row = get_account(session=s, username="district")
        assert row is not None and row.totp_secret == SEALED and row.totp_last_step is None
    with pytest.raises(AccountError, match="区县级和市级"), session_scope(accounts) as s:
        enrol_totp(session=s, username="street-a", sealed=SEALED, directory=directory(), actor="t", now=NOW)
    assert [a for a in _audit(accounts) if a[0].startswith("user_totp")] == [("user_totp_enrolled", "")] * 2
    with session_scope(accounts) as s:
        disable_totp(session=s, username="district", actor="cli:test", now=NOW)
    with Session(accounts) as s:
        row = get_account(session=s, username="district")
        assert row is not None and row.totp_secret is None
    with pytest.raises(AccountError, match="没有绑定"), session_scope(accounts) as s:
        disable_totp(session=s, username="district", actor="cli:test", now=NOW)


def test_a_step_is_accepted_once_and_never_an_earlier_one(accounts: sa.Engine) -> None:
    _enrol(accounts)
    assert _accept(accounts, 1000)
    assert not _accept(accounts, 1000)  # the same code again: replay
    assert not _accept(accounts, 999)  # an older code, still inside the window
    assert _accept(accounts, 1001)
    with Session(accounts) as s:
        row = get_account(session=s, username="district")
        assert row is not None and row.totp_last_step == 1001 and row.last_login_at == NOW
    assert [a for a in _audit(accounts) if a[0].startswith("login")] == [
        ("login", ""), ("login_failed", "totp-replay"), ("login_failed", "totp-replay"), ("login", "")]
    # Without a binding no step is accepted at all.
    assert not _accept(accounts, 5000, "street-a")


def test_wrong_codes_lock_the_account_like_wrong_passwords(accounts: sa.Engine) -> None:
    _enrol(accounts)
    for i in range(MAX_FAILURES):
        with session_scope(accounts) as s:
            until = refuse_code(session=s, username="district", client="10.0.0.1", now=NOW)
        assert (until is None) == (i < MAX_FAILURES - 1)
    with Session(accounts) as s:
        assert locked_until(session=s, username="district", now=NOW) == NOW + LOCKOUT
        assert locked_until(session=s, username="district", now=NOW + LOCKOUT) is None
    reasons = [r for a, r in _audit(accounts) if a == "login_failed"]
    assert reasons == ["totp-bad-code"] * (MAX_FAILURES - 1) + ["locked"]


def test_the_right_password_of_an_enrolled_account_is_only_half_a_login(accounts: sa.Engine) -> None:
    _enrol(accounts, "leader")
    with session_scope(accounts) as s:
        row = authenticate(session=s, username="leader", password=PASSWORD, client="10.0.0.1", now=NOW)
        assert row.totp_secret == SEALED
    with Session(accounts) as s:
        again = get_account(session=s, username="leader")
        assert again is not None and again.last_login_at is None
    assert _audit(accounts)[-1] == ("login_password_ok", "")


def test_single_sign_on_maps_to_existing_active_accounts_only(accounts: sa.Engine) -> None:
    with session_scope(accounts) as s:
        assert sso_login(session=s, username="district", provider="https://sso", client="c", now=NOW).id
    with session_scope(accounts) as s:
        s.exec(select(UserAccountRow).where(UserAccountRow.username == "street-b")).one().disabled = True
    for name, reason in (("nobody", "unknown"), ("street-b", "disabled")):
        with pytest.raises(LoginRefused) as refused, session_scope(accounts) as s:
            sso_login(session=s, username=name, provider="https://sso", client="c", now=NOW + timedelta(seconds=1))
        assert refused.value.reason == reason
    with Session(accounts) as s:
        assert get_account(session=s, username="nobody") is None
    # A refused sign-on raises inside session_scope, which rolls back: the caller (the workspace) commits
    # the audit row itself; here only the accepted one is kept.
    assert ("login", "") in _audit(accounts)
