"""The workspace in a real browser: Debian's Chromium driven by Selenium through /usr/bin/chromedriver,
at a phone's width (390 px) and a desktop's (1280 px), against the app served by uvicorn on 127.0.0.1.

Selenium is never allowed to fetch a browser or a driver: both paths are given explicitly. Without them
the tests skip with the reason locally, and fail in CI (``CI`` set).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from integrations.actions_api import create_app
from integrations.store.db import open_store
from integrations.store.models import WarningRow
from tests.integrations.workspace.conftest import NOW, PASSWORD, SETTINGS, directory, seed
from tests.store_templates import StoreTemplates

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
DOCS_IMG = Path(__file__).resolve().parents[3] / "docs" / "img"

pytestmark = pytest.mark.integration


def _missing() -> str | None:
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    return f"no browser for the browser tests: {', '.join(absent)} missing (apt install chromium chromium-driver)" \
        if absent else None


@pytest.fixture
def served(tmp_path: Path, store_templates: StoreTemplates) -> Iterator[tuple[str, sa.Engine, dict[str, int]]]:
    """The endpoint (workspace included) on a free port of 127.0.0.1, over a seeded SQLite store."""
    import uvicorn

    engine = open_store(store_templates.sqlite_copy(tmp_path / "web.db"))
    ids = seed(engine)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(engine, SETTINGS, directory=directory(), clock=lambda: NOW),
                                           host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="workspace-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", engine, ids
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[dict[int, object]]:
    """The module's headless Chromium, one per width, started on first use (a start costs a second or two)
    and quit at the end of the module; :func:`browser` hands it to each test with nothing of the last one."""
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    drivers: dict[int, object] = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("SE_OFFLINE", "true")  # belt and braces: Selenium Manager must not go online
        yield drivers
    for driver in drivers.values():
        driver.quit()  # type: ignore[attr-defined]


def _start(width: int) -> object:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--lang=zh-CN", f"--window-size={width},900", "--hide-scrollbars"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


def _blank(driver: object, width: int) -> None:
    """As a fresh profile: no page, no cookies, nothing cached; the width's window."""
    driver.get("about:blank")  # type: ignore[attr-defined]
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})  # type: ignore[attr-defined]
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})  # type: ignore[attr-defined]
    # Headless Chromium widens a small --window-size to its minimum; an explicit resize is honoured.
    driver.set_window_size(width, 900)  # type: ignore[attr-defined]
    assert driver.execute_script("return window.innerWidth") == width  # type: ignore[attr-defined]
    assert driver.get_cookies() == [] and len(driver.window_handles) == 1  # type: ignore[attr-defined]


@pytest.fixture(params=[390, 1280], ids=["phone-390", "desktop-1280"])
def browser(request: pytest.FixtureRequest, chromium: dict[int, object]) -> Iterator[object]:
    """A headless Chromium of the given width, as a fresh profile: no cookies (the module's, emptied)."""
    width = request.param
    if width not in chromium:
        chromium[width] = _start(width)
    driver = chromium[width]
    _blank(driver, width)
    driver.width = width  # type: ignore[attr-defined]
    yield driver
    try:
        _blank(driver, width)  # the test's session ends here, not in the next test
    except Exception:  # a browser in a state of its own: the next test gets a new one
        del chromium[width]
        driver.quit()  # type: ignore[attr-defined]


def _login(driver: object, base: str, user: str, password: str = PASSWORD) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login")  # type: ignore[attr-defined]
    driver.find_element(By.NAME, "username").send_keys(user)  # type: ignore[attr-defined]
    driver.find_element(By.NAME, "password").send_keys(password)  # type: ignore[attr-defined]
    _click(driver, By.CSS_SELECTOR, "form.card button")


def _click(driver: object, by: str, what: str, *, navigates: bool = True) -> None:
    """Click, and wait until the next page has replaced this one (a click returns before that)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")  # type: ignore[attr-defined]
    driver.find_element(by, what).click()  # type: ignore[attr-defined]
    if navigates:
        WebDriverWait(driver, 15).until(lambda _: _replaced(old))


def _replaced(old: object) -> bool:
    """True once ``old`` is no longer in the page. Chromium's driver reports a node of a replaced page
    either as stale or as "does not belong to the document"; both mean the next page is there."""
    from selenium.common.exceptions import WebDriverException

    try:
        old.is_enabled()  # type: ignore[attr-defined]
    except WebDriverException:
        return True
    return False


def _shown(driver: object) -> list[int]:
    from selenium.webdriver.common.by import By

    cards = driver.find_elements(By.CSS_SELECTOR, "[data-warning]")  # type: ignore[attr-defined]
    return [int(c.get_attribute("data-warning")) for c in cards]


def _status(engine: sa.Engine, wid: int) -> str:
    with Session(engine) as s:
        row = s.get(WarningRow, wid)
        assert row is not None
        return row.status


def _fits(driver: object) -> None:
    """Nothing wider than the window: no sideways scrolling on a phone."""
    scroll = driver.execute_script("return document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    inner = driver.execute_script("return window.innerWidth")  # type: ignore[attr-defined]
    assert scroll <= inner, f"page is {scroll}px wide in a {inner}px window"


Served = tuple[str, sa.Engine, dict[str, int]]


def test_a_street_officer_sees_only_their_street_acknowledges_and_resolves(
        browser: object, served: Served, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    # The README's screenshots are refreshed only on request: a test run leaves the checkout as it was.
    shots = DOCS_IMG if request.config.getoption("--docs-screenshots") else tmp_path

    base, engine, ids = served
    d = browser
    _login(d, base, "street-a")
    assert d.current_url == f"{base}/inbox"  # type: ignore[attr-defined]
    assert _shown(d) == [ids["a-red"], ids["a-yellow"]]  # red first; the neighbouring street is not there
    assert "剩余 1 小时 20 分" in d.page_source  # type: ignore[attr-defined]
    _fits(d)
    if d.width == 390:  # type: ignore[attr-defined]
        d.save_screenshot(str(shots / "workspace-inbox-390.png"))  # type: ignore[attr-defined]
    # Not by URL either.
    d.get(f"{base}/w/{ids['b-orange']}")  # type: ignore[attr-defined]
    assert d.find_element(By.TAG_NAME, "h1").text == "预警不存在"  # type: ignore[attr-defined]
    d.get(f"{base}/w/{ids['a-red']}")  # type: ignore[attr-defined]
    assert d.find_element(By.ID, "status").text == "开放（待签收）"  # type: ignore[attr-defined]
    _fits(d)
    if d.width == 390:  # type: ignore[attr-defined]
        height = d.execute_script("return document.body.scrollHeight")  # type: ignore[attr-defined]
        d.set_window_size(390, min(height + 120, 2400))  # type: ignore[attr-defined]
        d.save_screenshot(str(shots / "workspace-warning-390.png"))  # type: ignore[attr-defined]
        d.set_window_size(390, 900)  # type: ignore[attr-defined]
    _click(d, By.ID, "ack")
    assert "已签收，已记录在案" in d.find_element(By.CSS_SELECTOR, ".flash").text  # type: ignore[attr-defined]
    assert d.find_element(By.ID, "status").text == "已签收"  # type: ignore[attr-defined]
    assert _status(engine, ids["a-red"]) == "acknowledged"
    # Resolving needs a note: the browser will not send the form without one.
    _click(d, By.ID, "resolve", navigates=False)
    assert _status(engine, ids["a-red"]) == "acknowledged"
    d.find_element(By.CSS_SELECTOR, "form[action$='/resolve'] textarea").send_keys("已上门化解")  # type: ignore[attr-defined]
    _click(d, By.ID, "resolve")
    assert d.find_element(By.ID, "status").text == "已办结"  # type: ignore[attr-defined]
    assert "已上门化解" in d.page_source  # type: ignore[attr-defined]
    assert _status(engine, ids["a-red"]) == "resolved"
    _grid_task(d, base, engine, ids, shots)


def _grid_task(d: object, base: str, engine: sa.Engine, ids: dict[str, int], shots: Path) -> None:
    """The phone form of a grid task: accept it, finish it with an outcome and a note."""
    from datetime import timedelta

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from integrations.store.db import session_scope
    from integrations.store.task_models import TaskRow

    with session_scope(engine) as s:
        task = TaskRow(warning_id=ids["a-yellow"], kind="verify", region="510104001002", tier="community",
                       created_at=NOW, due_at=NOW + timedelta(hours=4))
        s.add(task)
        s.flush()
        tid = task.id
    d.get(f"{base}/tasks")  # type: ignore[attr-defined]
    _fits(d)
    _click(d, By.CSS_SELECTOR, f"[data-task='{tid}']")
    _click(d, By.ID, "accept")
    assert "已接单" in d.find_element(By.CSS_SELECTOR, ".flash").text  # type: ignore[attr-defined]
    Select(d.find_element(By.ID, "outcome")).select_by_visible_text("不属实")  # type: ignore[attr-defined]
    d.find_element(By.CSS_SELECTOR, "form[action$='/done'] textarea").send_keys("现场无聚集")  # type: ignore[attr-defined]
    _fits(d)
    if d.width == 390:  # type: ignore[attr-defined]
        d.save_screenshot(str(shots / "workspace-task-390.png"))  # type: ignore[attr-defined]
    _click(d, By.ID, "done")
    assert d.find_element(By.ID, "task-outcome").text.startswith("不属实")  # type: ignore[attr-defined]
    with Session(engine) as s:
        row = s.get(TaskRow, tid)
    assert row is not None and (row.status, row.outcome, row.note) == ("done", "unfounded", "现场无聚集")


def test_a_form_posted_without_its_csrf_token_is_refused(browser: object, served: Served) -> None:
    from selenium.webdriver.common.by import By

    base, engine, ids = served
    d = browser
    _login(d, base, "street-a")
    d.get(f"{base}/w/{ids['a-red']}")  # type: ignore[attr-defined]
    d.execute_script("document.querySelector(\"form[action$='/ack'] input[name=csrf]\").remove()")  # type: ignore[attr-defined]
    _click(d, By.ID, "ack")
    assert d.find_element(By.TAG_NAME, "h1").text == "请求已失效"  # type: ignore[attr-defined]
    assert _status(engine, ids["a-red"]) == "open"


def test_repeated_failed_logins_lock_the_account(browser: object, served: Served) -> None:
    from selenium.webdriver.common.by import By

    base, _, _ = served
    d = browser
    for _ in range(5):
        _login(d, base, "street-b", "not the password")
        assert "用户名或密码不正确" in d.page_source or "锁定" in d.page_source  # type: ignore[attr-defined]
    _login(d, base, "street-b")
    assert "锁定" in d.find_element(By.CSS_SELECTOR, ".error").text  # type: ignore[attr-defined]
    assert d.current_url.endswith("/login")  # type: ignore[attr-defined]
    _fits(d)


@pytest.mark.parametrize("browser", [390], indirect=True, ids=["phone-390"])
def test_a_district_account_logs_in_with_its_totp_code_on_a_phone(browser: object, served: Served) -> None:
    import pyotp
    from selenium.webdriver.common.by import By

    from integrations.store.db import session_scope
    from integrations.store.user_totp import enrol_totp
    from integrations.totp import SecretBox, new_secret

    base, engine, _ = served
    secret = new_secret()
    with session_scope(engine) as s:
        enrol_totp(session=s, username="district", sealed=SecretBox(SETTINGS.totp_key).seal(secret),
                   directory=directory(), actor="test", now=NOW)
    d = browser
    _login(d, base, "district")
    assert d.find_element(By.TAG_NAME, "h1").text == "动态口令"  # type: ignore[attr-defined]
    assert d.get_cookie("fenghuo_session") is None  # type: ignore[attr-defined]
    _fits(d)
    d.find_element(By.NAME, "code").send_keys(pyotp.TOTP(secret).at(NOW))  # type: ignore[attr-defined]
    _click(d, By.CSS_SELECTOR, "form.card button")
    assert d.current_url.endswith("/inbox")  # type: ignore[attr-defined]
    assert d.get_cookie("fenghuo_session") is not None  # type: ignore[attr-defined]
    _fits(d)


def test_acknowledge_from_a_notifications_link(browser: object, served: Served) -> None:
    from datetime import timedelta

    from selenium.webdriver.common.by import By

    from integrations.links import make_link

    base, engine, ids = served
    d = browser
    link = make_link(base, ids["b-orange"], "ack", "xst-officer", NOW + timedelta(hours=2), secret=SETTINGS.link_secret)
    d.get(link)  # type: ignore[attr-defined]
    assert "欠薪投诉集中" in d.page_source and "签收期限" in d.page_source  # type: ignore[attr-defined]
    _fits(d)
    assert _status(engine, ids["b-orange"]) == "open"  # showing it changed nothing
    _click(d, By.ID, "act")
    assert d.find_element(By.TAG_NAME, "h1").text == "已签收"  # type: ignore[attr-defined]
    assert _status(engine, ids["b-orange"]) == "acknowledged"
    # Onward to the workspace: log in, and land on the warning.
    _click(d, By.PARTIAL_LINK_TEXT, "进入预警工作台")
    d.find_element(By.NAME, "username").send_keys("street-b")  # type: ignore[attr-defined]
    d.find_element(By.NAME, "password").send_keys(PASSWORD)  # type: ignore[attr-defined]
    _click(d, By.CSS_SELECTOR, "form.card button")
    assert d.current_url == f"{base}/w/{ids['b-orange']}"  # type: ignore[attr-defined]
    assert d.find_element(By.ID, "status").text == "已签收"  # type: ignore[attr-defined]


@pytest.mark.parametrize("browser", [390], indirect=True)  # one width: the phone, where it is used
def test_hand_over_to_the_street_then_logout_and_back_is_refused(browser: object, served: Served) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from integrations.store.db import session_scope

    base, engine, ids = served
    with session_scope(engine) as s:  # street A's red warning, held by the district (as after an escalation)
        row = s.get(WarningRow, ids["a-red"])
        assert row is not None
        row.tier, row.route_region = "district", "510104000000"
        s.add(row)
    d = browser
    _login(d, base, "district")
    d.get(f"{base}/w/{ids['a-red']}")  # type: ignore[attr-defined]
    Select(d.find_element(By.ID, "handover-to")).select_by_visible_text("锦江区 江果桥街道")  # type: ignore[attr-defined]
    d.find_element(By.CSS_SELECTOR, "form[action$='/handover'] textarea").send_keys("请街道当天入户核实")  # type: ignore[attr-defined]
    _fits(d)
    _click(d, By.ID, "handover")
    assert "已移交给下级" in d.find_element(By.CSS_SELECTOR, ".flash").text  # type: ignore[attr-defined]
    assert "江果桥街道" in d.find_element(By.TAG_NAME, "dl").text  # type: ignore[attr-defined]
    with Session(engine) as s:
        held = s.get(WarningRow, ids["a-red"])
        assert held is not None and held.route_region == "510104001000"
    assert not d.find_elements(By.ID, "handover")  # type: ignore[attr-defined]  # no longer theirs to hand over
    # Log out; the back button and the inbox's address both land on the login page.
    _click(d, By.CSS_SELECTOR, "form[action='/logout'] button")
    assert d.current_url.startswith(f"{base}/login")  # type: ignore[attr-defined]
    d.back()  # type: ignore[attr-defined]
    assert "/login" in d.current_url and "江果桥街道综治" not in d.page_source  # type: ignore[attr-defined]
    d.get(f"{base}/inbox")  # type: ignore[attr-defined]
    assert d.current_url.startswith(f"{base}/login")  # type: ignore[attr-defined]
    assert not d.find_elements(By.CSS_SELECTOR, "[data-warning]")  # type: ignore[attr-defined]
