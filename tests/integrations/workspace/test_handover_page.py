"""Hand-over and server-side sessions over HTTP (TestClient): only the holder sees the form, with the nodes
below by name; posting hands over (routed, audited); logout and ``users disable`` end sessions at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from integrations.actions_api import create_app
from integrations.store.db import open_store, session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.users import disable_account, set_password
from tests.integrations.workspace.conftest import NOW, SETTINGS, STREET_A, directory, seed
from tests.integrations.workspace.test_workspace import _csrf, login

DISTRICT = "510104000000"


@pytest.fixture
def store(migrated_url: str) -> Iterator[sa.Engine]:
    engine = open_store(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def held_by_district(store: sa.Engine) -> int:
    """Street A's red warning, held by the district (as after an escalation)."""
    wid = seed(store)["a-red"]
    with session_scope(store) as s:
        row = s.get(WarningRow, wid)
        assert row is not None
        row.tier, row.route_region = "district", DISTRICT
        s.add(row)
    return wid


def _app(store: sa.Engine) -> TestClient:
    return TestClient(create_app(store, SETTINGS, directory=directory(), clock=lambda: NOW))


def test_the_holder_hands_over_to_the_street_below_by_name(store: sa.Engine, held_by_district: int) -> None:
    street = _app(store)
    login(street, "street-a")
    assert 'id="handover"' not in street.get(f"/w/{held_by_district}").text  # sees it, does not hold it
    district = _app(store)
    login(district, "district")
    page = district.get(f"/w/{held_by_district}")
    assert 'id="handover"' in page.text and f'<option value="{STREET_A}">' in page.text
    assert "江果桥街道" in page.text and "510104002000" not in page.text  # only nodes containing the place
    empty = district.post(f"/w/{held_by_district}/handover", data={"csrf": _csrf(page.text), "to": STREET_A},
                          follow_redirects=False)
    assert empty.status_code == 400 and "移交说明" not in empty.text and "写明" in empty.text
    done = district.post(f"/w/{held_by_district}/handover", follow_redirects=False,
                         data={"csrf": _csrf(page.text), "to": STREET_A, "note": "请街道当天入户核实"})
    assert done.status_code == 303 and done.headers["location"].endswith("done=handover")
    after = district.get(done.headers["location"])
    assert "已移交给下级" in after.text and "移交给下级</strong>：请街道当天入户核实" in after.text
    with Session(store) as s:
        row = s.get(WarningRow, held_by_district)
        sent = list(s.exec(select(OutboxRow).where(OutboxRow.step == "handover-1")))
        audit = list(s.exec(select(AuditRow).where(AuditRow.action == "handed-over")))
    assert row is not None and (row.tier, row.route_region) == ("street", STREET_A)
    assert [o.recipient for o in sent] == ["jgq-officer"] and sent[0].payload["links"]  # with one-click links
    assert [a.actor for a in audit] == ["jj-duty"]
    # Now the street holds it: the form is theirs (nothing below has responders here), the district's is gone.
    assert 'id="handover"' not in district.get(f"/w/{held_by_district}").text


def test_a_forged_handover_is_refused_and_audited(store: sa.Engine, held_by_district: int) -> None:
    street = _app(store)
    login(street, "street-a")
    page = street.get(f"/w/{held_by_district}")
    forged = street.post(f"/w/{held_by_district}/handover", follow_redirects=False,
                         data={"csrf": _csrf(page.text), "to": "510104001001", "note": "越级"})
    assert forged.status_code == 403 and "无法移交" in forged.text and "Traceback" not in forged.text
    no_csrf = street.post(f"/w/{held_by_district}/handover", data={"to": STREET_A, "note": "x"})
    assert no_csrf.status_code == 403
    with Session(store) as s:
        assert s.get(WarningRow, held_by_district).route_region == DISTRICT  # type: ignore[union-attr]
        assert len(list(s.exec(select(AuditRow).where(AuditRow.action == "refused")))) == 1


def test_logout_ends_the_session_on_the_server_even_for_a_copied_cookie(store: sa.Engine) -> None:
    seed(store)
    client = _app(store)
    login(client, "street-a")
    cookie = str(client.cookies["fenghuo_session"])
    page = client.get("/inbox")
    assert client.post("/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False).status_code == 303
    replay = _app(store)
    replay.cookies.set("fenghuo_session", cookie)
    assert replay.get("/inbox", follow_redirects=False).status_code == 303  # back to the login page


@pytest.mark.parametrize("change", ["disable", "passwd"])
def test_users_disable_and_passwd_end_open_sessions(store: sa.Engine, change: str) -> None:
    seed(store)
    client = _app(store)
    login(client, "street-b")
    assert client.get("/inbox", follow_redirects=False).status_code == 200
    with session_scope(store) as s:
        if change == "disable":
            disable_account(session=s, username="street-b", actor="cli:test", now=NOW)
        else:
            set_password(session=s, username="street-b", password="a brand new password", actor="cli:test", now=NOW)
    assert client.get("/inbox", follow_redirects=False).status_code == 303
