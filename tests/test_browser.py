"""One incident through the real UI in Debian's Chromium, in Chinese, by the people of the plan.

A nurse reports, the engineer on duty acknowledges and goes on site, the dean activates the plan,
the head of the cashier's office ticks an item of her checklist, the engineer restores, and the
nurse's own status page says the system is back.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from yingji.incidents.models import ChecklistItem, Incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google, which this network refuses.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("YINGJI_REQUIRE_ALL_TESTS"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


def login(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-Hans,zh;q=0.9"})
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#id_username", username)
    page.fill("#id_password", "yingji-demo")
    page.click("#login-submit")
    page.wait_for_url(f"{base}/")
    return page


def test_an_incident_from_report_to_restored_in_the_chinese_ui(browser: Any, live_server: Any, demo: Any) -> None:
    base = live_server.url

    nurse = login(browser, base, "nurse-wang")
    nurse.click("#nav-report")
    assert nurse.locator("h2").first.inner_text() == "报告故障"
    nurse.check("input[name=system][value=HIS]")
    nurse.fill("#symptom", "无法进入挂号程序")
    nurse.fill("#location", "门诊一楼挂号窗口")
    nurse.fill("#phone", "8001")
    nurse.click("summary")
    nurse.select_option("#scope", "hospital")
    nurse.click("#report-submit")
    reference = nurse.locator("#report-number").inner_text()
    assert reference.startswith("R")
    assert nurse.locator("#incident-status").inner_text() == "已报告"
    status_url = nurse.url
    incident = Incident.objects.get()

    engineer = login(browser, base, "eng-duty")
    engineer.goto(f"{base}/incidents/{incident.number}")
    engineer.click("button[data-action=acknowledge]")
    assert engineer.locator("#status").inner_text() == "已确认"
    engineer.click("button[data-action=arrive]")
    assert engineer.locator("#status").inner_text() == "工程师已到场"

    dean = login(browser, base, "dean")
    dean.goto(f"{base}/incidents/{incident.number}")
    dean.click("button[data-action=activate]")
    assert dean.locator("#status").inner_text() == "预案已启动"
    assert "收费科" in dean.locator("#departments").inner_text()

    cashier = login(browser, base, "cashier-head")
    cashier.goto(f"{base}/incidents/{incident.number}")
    item = ChecklistItem.objects.filter(task__incident=incident, task__department="cashier").first()
    cashier.click(f"button[data-item='{item.pk}']")
    cashier.click("button[data-ack=cashier]")
    item.refresh_from_db()
    assert item.done_by == "cashier-head"
    assert "收费科" in cashier.locator("#timeline").inner_text()

    engineer.reload()
    engineer.click("button[data-action=restore]")
    assert engineer.locator("#status").inner_text() == "已恢复"

    nurse.goto(status_url)
    assert nurse.locator("#incident-status").inner_text() == "已恢复"
    assert "已修复" in nurse.locator("#restored-message").inner_text()
    nurse.goto(f"{base}/")
    assert incident.number in nurse.locator("#notices").inner_text()
    nurse.screenshot(path=os.environ.get("YINGJI_SCREENSHOT", "/tmp/yingji-nurse-dashboard.png"), full_page=True)
