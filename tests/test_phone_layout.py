"""Every page on a phone (390×844, an iPhone 12-14) in Debian's Chromium: nothing is wider than
the screen, the header folds into a menu that opens without JavaScript, tables become cards, and
the acknowledgement page works with a thumb.

One server (pytest-django's live server), one browser and one incident for the module's pages.
Screenshots go to $YINGJI_SCREENSHOT_DIR when it is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from yingji.accounts.models import User
from yingji.core.actors import CLI
from yingji.incidents import actions
from yingji.incidents.models import DepartmentTask, Incident, Report
from yingji.notify.models import Message
from yingji.notify.service import ack_token
from yingji.recovery import actions as recovery

from .conftest import report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
WIDEST = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''))"""


@pytest.fixture
def incident(api: Any) -> Iterator[dict[str, Any]]:
    """A hospital-wide HIS outage acknowledged, the plan activated, the cashier's office on
    paper with slips typed in, a scenario bulletin raised with its numbers to call."""
    raised = report(api("nurse-wang"), scope="hospital")
    report(api("nurse-wang"), location="急诊大厅 2 号窗口")
    api("eng-duty").post(f"/incidents/{raised['id']}/acknowledge")
    api("dean").post(f"/incidents/{raised['id']}/activate")
    row = Incident.objects.get(pk=raised["id"])
    actions.declare_mode(CLI, row, "manual", ["cashier"])
    cashier = User.objects.get(username="cashier-li")
    for n in range(2):
        recovery.add_record(cashier, row, {
            "kind": "charge", "department": "cashier", "card_no": f"620000{n}", "patient_name": "张三",
            "paper_serial": f"MZ-004{n}", "occurred_at": "2026-03-05 09:30", "amount": "25.50"}, source="form")
    actions.raise_scenario(User.objects.get(username="info-director"),
                           Incident.objects.get(pk=report(api("nurse-wang"), system="INS")["id"]), "insurance-network")
    yield raised


def phone(browser: Any, base: str, username: str | None = None, language: str = "zh-hans") -> Any:
    """A phone's browser page, logged in as `username` (a session made by the test client: the
    login form is tested elsewhere, and django-axes counts every form login)."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                                  locale="zh-CN" if language == "zh-hans" else "en-US",
                                  extra_http_headers={"Accept-Language": language})
    if username:
        client = Client()
        client.force_login(User.objects.get(username=username))
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base}])
    return context.new_page()


def fits(page: Any, url: str, shots: str | None, name: str) -> str | None:
    """Open `url`; the page's width when it is wider than the phone (with what sticks out), else None."""
    page.goto(url)
    page.wait_for_load_state("load")
    if shots:
        page.screenshot(path=f"{shots}/{name}-390.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    return None if width <= PHONE["width"] else f"{url}: {width} px, {page.evaluate(WIDEST)}"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_no_page_is_wider_than_a_phone(browser: Any, live_server: Any, incident: dict[str, Any],
                                       language: str) -> None:
    base, number = live_server.url, incident["number"]
    key = Report.objects.get(number=incident["report"]).access_key
    task = DepartmentTask.objects.get(incident_id=incident["id"], department="cashier")
    ack = f"/ack/{ack_token(Message.objects.get(task=task, kind='activation').ack_key)}"
    shots = os.environ.get("YINGJI_SCREENSHOT_DIR")
    office = phone(browser, base, "info-director", language)
    pages = {"dashboard": "/", "report": "/report", "phone-report": "/report?phone=1", "status": f"/r/{key}",
             "status-404": "/r/not-a-key", "incidents": "/incidents/", "incident": f"/incidents/{number}",
             "plan": "/plan", "rosters": "/rosters/", "entry": f"/incidents/{number}/entry",
             "records": f"/incidents/{number}/records", "review": f"/incidents/{number}/review",
             "temp-ranges": "/temp-ranges", "screen": "/screen", "404": "/no-such-page"}
    too_wide = [fits(office, base + path, shots, f"{language}-{name}") for name, path in pages.items()]
    anonymous = phone(browser, base, language=language)
    too_wide += [fits(anonymous, base + "/login", shots, f"{language}-login"),
                 fits(anonymous, base + ack, shots, f"{language}-ack")]
    anonymous.click("#ack-button")
    anonymous.wait_for_selector("#ack-next")
    too_wide.append(fits(anonymous, base + ack, shots, f"{language}-ack-done"))
    assert [problem for problem in too_wide if problem] == []


def test_the_header_folds_into_a_menu_that_opens_without_javascript(
        browser: Any, live_server: Any, demo: Any) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="zh-CN",
                                  extra_http_headers={"Accept-Language": "zh-hans"})
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    assert not page.locator("header nav.wide").is_visible()
    assert not page.locator("header .menu-panel a[href='/report']").is_visible()
    page.click("header details.menu > summary")
    page.click("header .menu-panel a[href='/report']")
    page.wait_for_url(f"{live_server.url}/report")
    assert page.locator("h2").first.inner_text() == "报告故障"
    # On a wide screen the links are in the header itself, and there is no menu button.
    wide = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                               extra_http_headers={"Accept-Language": "zh-hans"}).new_page()
    wide.goto(f"{live_server.url}/")
    assert wide.locator("#nav-report").is_visible() and not wide.locator("header details.menu").is_visible()


def test_a_table_is_a_stack_of_cards_with_its_column_names_on_a_phone(
        browser: Any, live_server: Any, incident: dict[str, Any]) -> None:
    page = phone(browser, live_server.url, "info-director")
    page.goto(f"{live_server.url}/incidents/")
    row = page.locator(f"table.labelled tr:has(a[href='/incidents/{incident['number']}'])")
    cells = row.locator("td")
    assert row.evaluate("r => getComputedStyle(r).display") == "block"
    assert cells.first.get_attribute("data-label") == "编号"
    assert cells.first.evaluate("c => getComputedStyle(c, '::before').content") == '"编号"'
    assert not page.locator("table.labelled tr.table-head").first.is_visible()
    assert "医院信息系统（HIS）" in row.inner_text()  # the system by its name


def test_on_a_phone_the_hotline_and_the_numbers_to_call_are_links_to_tap(
        browser: Any, live_server: Any, incident: dict[str, Any]) -> None:
    key = Report.objects.get(number=incident["report"]).access_key
    page = phone(browser, live_server.url)
    page.goto(f"{live_server.url}/r/{key}")
    assert page.locator("#hotline a[href='tel:01000000000']").inner_text() == "010-00000000"
    page.goto(f"{live_server.url}/r/{key}x")
    assert page.locator("#report-missing").is_visible() and page.locator("a.tel[href='tel:01000000000']").is_visible()
    page.click("#report-again")
    page.wait_for_url(f"{live_server.url}/report")
    assert page.locator("label[data-reported=HIS] .already").inner_text().startswith(
        f"已报告故障（{incident['number']}，2 条报告）")
    page.goto(f"{live_server.url}/")
    assert page.locator("#scenarios .contact a.tel").count() >= 1


def test_a_department_lead_acknowledges_on_a_phone_and_is_told_what_to_do(
        browser: Any, live_server: Any, incident: dict[str, Any]) -> None:
    task = DepartmentTask.objects.get(incident_id=incident["id"], department="cashier")
    message = Message.objects.get(task=task, kind="activation")
    page = phone(browser, live_server.url)
    page.goto(f"{live_server.url}/ack/{ack_token(message.ack_key)}")
    assert page.locator("#ack-system").inner_text() == "医院信息系统（HIS）"
    button = page.locator("#ack-button").bounding_box()
    assert button["height"] >= 44 and button["width"] >= 300  # a thumb's target
    page.click("#ack-button")
    next_step = page.locator("#ack-next")
    assert "请立即启动收费科的停机应急流程。" in next_step.inner_text()
    assert page.locator("#ack-open").get_attribute("href") == f"/incidents/{incident['number']}#task-{task.pk}"
    # The hotline; the engineer who took it is named, his mobile is not shown to a department lead.
    assert page.locator("#ack-phones a.tel").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
