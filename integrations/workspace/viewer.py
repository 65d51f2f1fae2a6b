"""Who is asking: the logged-in responder behind a request's session cookie.

Shared by the workspace's pages and the CAP routes (a logged-in responder opens their feed from the
inbox). A cookie counts only if its signature is right, it has not expired, its server-side session row
is live (not logged out, not revoked by ``users disable`` or ``users passwd``) and its account is enabled
and names a responder of the directory.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from fastapi import Request
from sqlmodel import Session

from domain.regions import is_within
from domain.responders import Responder, ResponderDirectory
from integrations.settings import Settings
from integrations.store.models import WarningRow
from integrations.store.users import get_account
from integrations.store.web_sessions import session_user
from integrations.workspace.sessions import SESSION_COOKIE, SessionData, read_session


class Viewer:
    """The logged-in responder: session, person, and the root of what they may see."""

    def __init__(self, session: SessionData, person: Responder, people: ResponderDirectory) -> None:
        self.session, self.person = session, person
        self.leadership = people.is_leadership(person.id)
        self.root = people.city if self.leadership else person.node

    def may_see(self, row: WarningRow) -> bool:
        """True if the warning lies in this responder's subtree."""
        return is_within(row.region, self.root)


def responder_of(session: Session, username: str, directory: ResponderDirectory) -> Responder | None:
    """The responder an enabled account ``username`` names, or ``None``."""
    account = get_account(session=session, username=username)
    return directory.responder(account.responder_id) if account and not account.disabled else None


def viewer_of(
    engine: sa.Engine, settings: Settings, directory: ResponderDirectory, clock: Callable[[], datetime],
) -> Callable[[Request], Viewer | None]:
    """A function giving a request's :class:`Viewer`, or ``None`` when it carries no live session."""

    def viewer(request: Request) -> Viewer | None:
        now = clock()
        data = read_session(settings.session_keys(now), request.cookies.get(SESSION_COOKIE), now)
        if data is None or not data.sid:
            return None
        with Session(engine) as s:
            if session_user(session=s, sid=data.sid, now=now) != data.username:
                return None
            person = responder_of(s, data.username, directory)
        return Viewer(data, person, directory) if person else None

    return viewer
