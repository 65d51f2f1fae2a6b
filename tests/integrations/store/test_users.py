"""Web workspace accounts: Argon2 hashes, tied to the directory, lock-out after failures, all audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import Session, col, select

from domain.responders import ResponderDirectory
from integrations.settings import get_settings
from integrations.store.db import session_scope
from integrations.store.models import AuditRow
from integrations.store.users import (
    LOCKOUT,
    MAX_FAILURES,
    AccountError,
    LoginRefused,
    add_account,
    authenticate,
    disable_account,
    get_account,
    set_password,
)

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def directory() -> ResponderDirectory:
    return ResponderDirectory.load(get_settings().responders)


def _add(engine: sa.Engine, directory: ResponderDirectory, name: str = "jj") -> None:
    with session_scope(engine) as s:
        add_account(session=s, username=name, responder_id="jj-duty-office", password=PASSWORD,
                    directory=directory, actor="cli:test", now=NOW)


def _login(engine: sa.Engine, name: str, password: str, at: datetime = NOW) -> str:
    """``ok`` or the refusal's reason; the attempt commits either way (as the workspace does)."""
    with Session(engine) as s:
        try:
            authenticate(session=s, username=name, password=password, client="127.0.0.1", now=at)
            return "ok"
        except LoginRefused as exc:
            return exc.reason
        finally:
            s.commit()


def test_accounts_store_an_argon2_hash_and_log_in(engine: sa.Engine, directory: ResponderDirectory,
                                                  real_argon2: None) -> None:
    _add(engine, directory)
    with Session(engine) as s:
        row = get_account(session=s, username="jj")
        assert row is not None and row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
        # The library's own parameters (the other tests hash at the lowest cost: tests/integrations/conftest.py).
        assert not PasswordHasher().check_needs_rehash(row.password_hash)
    assert _login(engine, "jj", PASSWORD) == "ok"
    assert _login(engine, "jj", "wrong password!") == "bad-credentials"
    assert _login(engine, "nobody", PASSWORD) == "bad-credentials"
    with Session(engine) as s:
        audit = [(a.action, a.reason) for a in s.exec(select(AuditRow).order_by(col(AuditRow.id)))]
    assert audit == [("user_added", ""), ("login", ""), ("login_failed", "bad-credentials"),
                     ("login_failed", "bad-credentials")]


def test_an_account_must_name_a_responder_of_the_directory(engine: sa.Engine,
                                                           directory: ResponderDirectory) -> None:
    with session_scope(engine) as s, pytest.raises(AccountError, match="责任人名录"):
        add_account(session=s, username="x", responder_id="no-such-person", password=PASSWORD,
                    directory=directory, actor="cli:test", now=NOW)
    with session_scope(engine) as s, pytest.raises(AccountError, match="太短"):
        add_account(session=s, username="x", responder_id="jj-duty-office", password="short",
                    directory=directory, actor="cli:test", now=NOW)
    _add(engine, directory)
    with session_scope(engine) as s, pytest.raises(AccountError, match="已存在"):
        add_account(session=s, username="jj", responder_id="jj-duty-office", password=PASSWORD,
                    directory=directory, actor="cli:test", now=NOW)


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    engine: sa.Engine, directory: ResponderDirectory
) -> None:
    _add(engine, directory)
    reasons = [_login(engine, "jj", f"wrong-{i}-password") for i in range(MAX_FAILURES)]
    assert reasons == ["bad-credentials"] * (MAX_FAILURES - 1) + ["locked"]
    assert _login(engine, "jj", PASSWORD) == "locked"
    assert _login(engine, "jj", PASSWORD, NOW + LOCKOUT + timedelta(seconds=1)) == "ok"
    # A new password lifts a lock-out at once.
    for i in range(MAX_FAILURES):
        _login(engine, "jj", f"wrong-{i}-password")
    with session_scope(engine) as s:
        set_password(session=s, username="jj", password="another long secret", actor="cli:test", now=NOW)
    assert _login(engine, "jj", "another long secret") == "ok"


def test_a_disabled_account_cannot_log_in(engine: sa.Engine, directory: ResponderDirectory) -> None:
    _add(engine, directory)
    with session_scope(engine) as s:
        disable_account(session=s, username="jj", actor="cli:test", now=NOW)
    assert _login(engine, "jj", PASSWORD) == "disabled"
    with session_scope(engine) as s, pytest.raises(AccountError, match="没有用户"):
        disable_account(session=s, username="ghost", actor="cli:test", now=NOW)
