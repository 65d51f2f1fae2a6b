"""The 事件上报 form in a real browser at a phone's width (390 px): it fits, and a report goes in.
Skips without Chromium locally, fails in CI (see test_browser.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from integrations.grid_reports import SOURCE
from integrations.store.models import RecordRow
from tests.integrations.workspace.test_browser import (  # noqa: F401  (browser, chromium, served: fixtures)
    DOCS_IMG,
    Served,
    _click,
    _fits,
    _login,
    browser,
    chromium,
    served,
)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("browser", [390], indirect=True, ids=["phone-390"])
def test_a_grid_report_from_a_phone(browser: object, served: Served,  # noqa: F811  (the fixtures imported above)
                                    request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    shots = DOCS_IMG if request.config.getoption("--docs-screenshots") else tmp_path
    base, engine, _ = served
    d = browser
    _login(d, base, "street-a")
    _click(d, By.LINK_TEXT, "事件上报")
    assert d.find_element(By.TAG_NAME, "h1").text == "事件上报"  # type: ignore[attr-defined]
    Select(d.find_element(By.NAME, "matter")).select_by_visible_text("群体聚集")  # type: ignore[attr-defined]
    Select(d.find_element(By.NAME, "grid")).select_by_value("510104001001002")  # type: ignore[attr-defined]
    people = d.find_element(By.NAME, "people")  # type: ignore[attr-defined]
    people.clear()
    people.send_keys("12")
    d.find_element(By.NAME, "text").send_keys("小区门口十余人聚集")  # type: ignore[attr-defined]
    _fits(d)
    d.save_screenshot(str(shots / "workspace-report-390.png"))  # type: ignore[attr-defined]
    _click(d, By.CSS_SELECTOR, "form.report button")
    assert d.find_element(By.TAG_NAME, "h1").text == "上报成功"  # type: ignore[attr-defined]
    _fits(d)
    with Session(engine) as s:
        [row] = s.exec(select(RecordRow).where(RecordRow.source == SOURCE)).all()
    assert (row.region, row.attributes["matter"], row.attributes["people"]) == ("510104001001002", "gathering", 12)
