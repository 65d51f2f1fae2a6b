"""The workspace over HTTP (TestClient): login with CSRF and lock-out, the inbox of one's own subtree,
a warning's page, and acting on it through the store's actions, all audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from integrations.actions_api import create_app
from integrations.store.db import open_store
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from tests.integrations.workspace.conftest import NOW, PASSWORD, SETTINGS, directory, seed


@pytest.fixture
def store(migrated_url: str) -> Iterator[sa.Engine]:
    engine = open_store(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def ids(store: sa.Engine) -> dict[str, int]:
    return seed(store)


def _app(store: sa.Engine) -> TestClient:
    """The endpoint as ``fenghuo serve`` builds it (the workspace included by create_app)."""
    return TestClient(create_app(store, SETTINGS, directory=directory(), clock=lambda: NOW))


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]*)"', html)
    assert match, html
    return match.group(1)


def login(client: TestClient, user: str, password: str = PASSWORD) -> int:
    form = client.get("/login")
    resp = client.post("/login", data={"username": user, "password": password, "csrf": _csrf(form.text)},
                       follow_redirects=False)
    return resp.status_code


def test_login_then_inbox_shows_only_the_own_subtree_red_first(store: sa.Engine, ids: dict[str, int]) -> None:
    client = _app(store)
    assert client.get("/inbox", follow_redirects=False).headers["location"].startswith("/login")
    assert login(client, "street-a") == 303
    cookie = client.cookies.get("fenghuo_session")
    assert cookie
    page = client.get("/inbox")
    assert page.status_code == 200
    shown = [int(i) for i in re.findall(r'data-warning="(\d+)"', page.text)]
    assert shown == [ids["a-red"], ids["a-yellow"]]  # red first; street B's warning is not there
    assert "剩余 1 小时 20 分" in page.text and "13812345678" not in page.text
    assert "江果桥街道" in page.text
    # The rule filter offers rules by the names their authors gave them.
    assert '<option value="collective-petition" >集体访（collective-petition）</option>' in page.text
    # By URL, the neighbouring street's warning does not exist for this officer.
    assert client.get(f"/w/{ids['b-orange']}").status_code == 404
    # The district sees both streets; the place filter goes by name.
    district = _app(store)
    login(district, "district")
    both = district.get("/inbox")
    assert {int(i) for i in re.findall(r'data-warning="(\d+)"', both.text)} == set(ids.values())
    only_b = district.get("/inbox", params={"place": "兴双台"})
    assert [int(i) for i in re.findall(r'data-warning="(\d+)"', only_b.text)] == [ids["b-orange"]]
    reds = district.get("/inbox", params={"level": "red"})
    assert [int(i) for i in re.findall(r'data-warning="(\d+)"', reds.text)] == [ids["a-red"]]


def test_the_session_cookie_is_httponly_lax_and_tampering_logs_out(store: sa.Engine, ids: dict[str, int]) -> None:
    client = _app(store)
    form = client.get("/login")
    resp = client.post("/login", data={"username": "street-a", "password": PASSWORD, "csrf": _csrf(form.text)},
                       follow_redirects=False)
    header = resp.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header
    value = client.cookies["fenghuo_session"]
    assert client.get("/inbox", follow_redirects=False).status_code == 200
    client.cookies.clear()
    client.cookies.set("fenghuo_session", value[:5] + ("A" if value[5] != "A" else "B") + value[6:])
    assert client.get("/inbox", follow_redirects=False).status_code == 303


def test_warning_page_and_actions_are_audited(store: sa.Engine, ids: dict[str, int]) -> None:
    client = _app(store)
    login(client, "street-a")
    wid = ids["a-red"]
    page = client.get(f"/w/{wid}")
    assert page.status_code == 200
    for text in ("红色预警", "开放（待签收）", "锦江区 江果桥街道 春兴湾社区", "北京时间", "people=60 ≥ 50",
                 "xinfang/p-7f3a", "江果桥街道综治专干（企业微信）", "剩余 1 小时 20 分",
                 "集体访（collective-petition）"):
        assert text in page.text, text
    assert "13812345678" not in page.text
    csrf = _csrf(page.text.split("<main>")[1])
    assert client.post(f"/w/{wid}/ack", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.post(f"/w/{wid}/resolve", data={"csrf": csrf, "note": ""}).status_code == 400
    done = client.post(f"/w/{wid}/resolve", data={"csrf": csrf, "note": "已上门化解，群众已散"})
    assert done.status_code == 200 and "已办结" in done.text
    with Session(store) as s:
        row = s.get(WarningRow, wid)
        trail = [(a.actor, a.action, a.reason) for a in s.exec(select(AuditRow).where(AuditRow.warning_id == wid)
                                                                .order_by(col(AuditRow.id)))]
    assert row is not None and row.status == "resolved"
    assert trail[-2:] == [("jgq-officer", "acknowledged", "经工作台签收"),
                          ("jgq-officer", "resolved", "已上门化解，群众已散")]
    with Session(store) as s:  # whoever was told of it is told it is closed (integrations.resolution)
        told = s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid, OutboxRow.step == "resolve")).all()
    assert [(r.idempotency_key, r.status) for r in told] == [(f"{wid}:resolve:jgq-officer:wecom", "pending")]


def test_forms_without_their_csrf_token_are_refused(store: sa.Engine, ids: dict[str, int]) -> None:
    client = _app(store)
    client.get("/login")
    assert client.post("/login", data={"username": "street-a", "password": PASSWORD}).status_code == 403
    login(client, "street-a")
    wid = ids["a-red"]
    assert client.post(f"/w/{wid}/ack", data={}).status_code == 403
    assert client.post(f"/w/{wid}/ack", data={"csrf": "forged"}).status_code == 403
    with Session(store) as s:
        row = s.get(WarningRow, wid)
    assert row is not None and row.status == "open"


def test_an_action_outside_the_subtree_is_a_404_and_changes_nothing(store: sa.Engine, ids: dict[str, int]) -> None:
    client = _app(store)
    login(client, "street-a")
    csrf = _csrf(client.get("/inbox").text)
    assert client.post(f"/w/{ids['b-orange']}/ack", data={"csrf": csrf}).status_code == 404
    with Session(store) as s:
        row = s.get(WarningRow, ids["b-orange"])
    assert row is not None and row.status == "open"


def test_repeated_failed_logins_lock_the_account_and_are_audited(store: sa.Engine, ids: dict[str, int]) -> None:
    client = _app(store)
    codes = [login(client, "street-a", "wrong password") for _ in range(5)]
    assert codes == [401] * 5
    page = client.post("/login", data={"username": "street-a", "password": PASSWORD,
                                       "csrf": _csrf(client.get("/login").text)})
    assert page.status_code == 401 and "锁定" in page.text
    with Session(store) as s:
        reasons = [a.reason for a in s.exec(select(AuditRow).where(AuditRow.action == "login_failed"))]
    assert reasons == ["bad-credentials"] * 4 + ["locked", "locked"]


def test_login_attempts_are_rate_limited_per_account(store: sa.Engine, ids: dict[str, int]) -> None:
    client = _app(store)
    codes = [login(client, "ghost", "whatever password") for _ in range(11)]
    assert codes == [401] * 10 + [429]


def _link(wid: int, action: str, responder: str) -> str:
    from datetime import timedelta

    from integrations.links import make_link

    url = make_link("http://testserver", wid, action, responder, NOW + timedelta(hours=2),  # type: ignore[arg-type]
                    secret=SETTINGS.link_secret)
    return url.removeprefix("http://testserver")


def test_the_link_page_shows_the_context_then_leads_to_the_workspace(store: sa.Engine, ids: dict[str, int]) -> None:
    client = _app(store)
    path = _link(ids["a-red"], "ack", "jgq-officer")
    shown = client.get(path)
    assert shown.status_code == 200 and 'id="act"' in shown.text
    for text in ("红色（特别严重）", "60 人聚集", "锦江区 江果桥街道 春兴湾社区", "北京时间", "签收期限",
                 "剩余 1 小时 20 分"):
        assert text in shown.text, text
    assert "13812345678" not in shown.text and shown.headers["referrer-policy"] == "no-referrer"
    done = client.post(path)
    assert done.status_code == 200 and "已签收" in done.text and f'href="/w/{ids["a-red"]}"' in done.text
    # The workspace asks who is there, then shows the warning acknowledged.
    again = client.get(f"/w/{ids['a-red']}", follow_redirects=False)
    assert again.headers["location"] == f"/login?next=%2Fw%2F{ids['a-red']}"


def test_a_link_outside_the_responders_jurisdiction_shows_no_button(store: sa.Engine, ids: dict[str, int]) -> None:
    client = _app(store)
    refused = client.get(_link(ids["b-orange"], "ack", "jgq-officer"))  # street A's officer, street B's warning
    assert refused.status_code == 403 and 'id="act"' not in refused.text and "管辖范围" in refused.text
    with Session(store) as s:
        audit = s.exec(select(AuditRow).where(AuditRow.action == "link_refused")).one()
        row = s.get(WarningRow, ids["b-orange"])
    assert audit.reason == "jurisdiction" and audit.warning_id == ids["b-orange"]
    assert row is not None and row.status == "open"


def test_a_silenced_warning_shows_the_silence_and_its_reason(store: sa.Engine, ids: dict[str, int]) -> None:
    from integrations.store.db import session_scope
    from integrations.store.models import OutboxRow

    wid = ids["a-red"]
    with session_scope(store) as s:
        s.add(OutboxRow(idempotency_key=f"{wid}:raise-red:x:file", warning_id=wid, step="raise-red",
                        recipient="jgq-officer", channel="file", status="silenced",
                        payload={"silence": 1, "silence_reason": "拆迁听证会，联系人 13812345678"}))
        s.add(AuditRow(warning_id=wid, actor="system:silences", action="silenced", reason="拆迁听证会"))
    client = _app(store)
    login(client, "street-a")
    page = client.get(f"/w/{wid}").text
    assert "通知静默中：拆迁听证会" in page and "13812345678" not in page
    assert "通知静默（暂不发送）" in page  # in the story
    assert "通知静默中" not in client.get(f"/w/{ids['a-yellow']}").text


def test_a_responder_silences_a_warnings_kind_from_its_page(store: sa.Engine, ids: dict[str, int]) -> None:
    from integrations.store.silences import SilenceRow

    client = _app(store)
    login(client, "street-a")
    page = client.get(f"/w/{ids['a-yellow']}")
    csrf = _csrf(page.text.split("<main>")[1])
    assert 'id="silence"' in page.text
    assert client.post(f"/w/{ids['a-yellow']}/silence", data={"csrf": csrf, "hours": "2", "note": ""}
                       ).status_code == 400
    assert client.post(f"/w/{ids['a-yellow']}/silence", data={"csrf": "x", "hours": "2", "note": "听证会"}
                       ).status_code == 403
    done = client.post(f"/w/{ids['a-yellow']}/silence", data={"csrf": csrf, "hours": "2", "note": "听证会"})
    assert done.status_code == 200 and "同类预警的通知已静默" in done.text
    red = client.post(f"/w/{ids['a-red']}/silence", data={"csrf": csrf, "hours": "2", "note": "听证会"})
    assert red.status_code == 403 and "市级" in red.text  # a silence covering red needs the city tier
    assert client.post(f"/w/{ids['b-orange']}/silence", data={"csrf": csrf, "hours": "2", "note": "x"}
                       ).status_code == 404  # not in the subtree
    with Session(store) as s:
        (row,) = s.exec(select(SilenceRow)).all()
        assert (row.rule, row.region, row.level, row.author) == ("collective-petition", "510104001002", "yellow",
                                                                 "jgq-officer")
        assert row.until - row.starts_at == timedelta(hours=2)
        assert s.exec(select(AuditRow).where(AuditRow.action == "silence-refused")).one().actor == "jgq-officer"


def test_a_flood_of_logins_from_one_client_writes_a_bounded_audit(sqlite_engine: sa.Engine) -> None:
    # Unauthenticated traffic must not grow the store: past the limits, one row says it was throttled.
    # (One backend: the bound is the router's, and 20 Argon2 checks are the test's whole cost.)
    store = sqlite_engine
    seed(store)
    client = _app(store)
    token = _csrf(client.get("/login").text)
    codes = [client.post("/login", data={"username": f"ghost-{i}", "password": "x", "csrf": token}).status_code
             for i in range(60)]
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
    with Session(store) as s:
        reasons = [a.reason for a in s.exec(select(AuditRow).where(AuditRow.action == "login_failed"))]
    assert reasons == ["bad-credentials"] * 20 + ["rate-limited"]
