"""Server-side sessions and feed tokens on both backends: hashed at rest, expire, revoked by logout,
``users disable`` and ``users passwd``; a new feed token revokes the old one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain.responders import ResponderDirectory
from integrations.settings import get_settings
from integrations.store.db import session_scope
from integrations.store.models import AuditRow
from integrations.store.users import add_account, disable_account, set_password
from integrations.store.web_sessions import (
    FeedTokenRow,
    WebSessionRow,
    end_session,
    feed_token_user,
    issue_feed_token,
    revoke_feed_tokens,
    session_user,
    start_session,
)

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
TTL = timedelta(hours=12)


def _start(engine: sa.Engine, user: str = "jj", at: datetime = NOW) -> str:
    with session_scope(engine) as s:
        return start_session(session=s, username=user, now=at, ttl=TTL)


def _user(engine: sa.Engine, sid: str, at: datetime = NOW) -> str | None:
    with Session(engine) as s:
        return session_user(session=s, sid=sid, now=at)


@pytest.fixture
def account(engine: sa.Engine) -> str:
    with session_scope(engine) as s:
        add_account(session=s, username="jj", responder_id="jj-duty-office", password="correct horse battery",
                    directory=ResponderDirectory.load(get_settings().responders), actor="cli:test", now=NOW)
    return "jj"


def test_a_session_is_stored_hashed_and_expires(engine: sa.Engine) -> None:
    sid = _start(engine)
    with Session(engine) as s:
        stored = [r.id_hash for r in s.exec(select(WebSessionRow))]
    assert len(stored) == 1 and sid not in stored[0] and len(stored[0]) == 64
    assert _user(engine, sid) == "jj"
    assert _user(engine, sid, NOW + TTL - timedelta(seconds=1)) == "jj"
    assert _user(engine, sid, NOW + TTL) is None
    assert _user(engine, sid + "x") is None


def test_logout_ends_only_that_session(engine: sa.Engine) -> None:
    phone, desk = _start(engine), _start(engine)
    with session_scope(engine) as s:
        assert end_session(session=s, sid=phone, now=NOW) is True
        assert end_session(session=s, sid=phone, now=NOW) is False
    assert _user(engine, phone) is None and _user(engine, desk) == "jj"


@pytest.mark.parametrize("change", ["disable", "passwd"])
def test_disabling_or_a_new_password_revokes_every_session_of_the_account(
        engine: sa.Engine, account: str, change: str) -> None:
    mine, mine_too, other = _start(engine, account), _start(engine, account), _start(engine, "someone-else")
    with session_scope(engine) as s:
        if change == "disable":
            disable_account(session=s, username=account, actor="cli:test", now=NOW)
        else:
            set_password(session=s, username=account, password="another long password", actor="cli:test", now=NOW)
    assert _user(engine, mine) is None and _user(engine, mine_too) is None
    assert _user(engine, other) == "someone-else"


def test_old_dead_sessions_are_pruned_when_a_new_one_starts(engine: sa.Engine) -> None:
    _start(engine, at=NOW - timedelta(days=3))
    fresh = _start(engine)
    with Session(engine) as s:
        assert len(list(s.exec(select(WebSessionRow)))) == 1
    assert _user(engine, fresh) == "jj"


def test_feed_tokens_are_hashed_single_and_revocable(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        first = issue_feed_token(session=s, username="jj", actor="cli:test", now=NOW)
    with session_scope(engine) as s:
        second = issue_feed_token(session=s, username="jj", actor="cli:test", now=NOW)
    with Session(engine) as s:
        hashes = [r.token_hash for r in s.exec(select(FeedTokenRow))]
        assert first.startswith("fhf_") and all(first not in h and second not in h for h in hashes)
        assert feed_token_user(session=s, token=first) is None  # a new token replaces the old one
        assert feed_token_user(session=s, token=second) == "jj"
        assert feed_token_user(session=s, token="feed-token") is None
    with session_scope(engine) as s:
        assert revoke_feed_tokens(session=s, username="jj", actor="cli:test", now=NOW) == 1
    with Session(engine) as s:
        assert feed_token_user(session=s, token=second) is None
        actions = [a.action for a in s.exec(select(AuditRow).where(AuditRow.warning_id.is_(None)))]  # type: ignore[union-attr]
    assert actions.count("feed_token_issued") == 2 and actions.count("feed_token_revoked") == 1


def test_migration_0011_goes_down_and_up(store_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from integrations.store.db import MIGRATIONS, open_store

    eng = open_store(store_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
    assert {"session", "feed_token"}.isdisjoint(sa.inspect(eng).get_table_names())
    eng.dispose()
    eng = open_store(store_url)  # back to head
    assert {"session", "feed_token"} <= set(sa.inspect(eng).get_table_names())
    eng.dispose()
