"""One incident through the real UI in Debian's Chromium, in Chinese, by the people of the plan.

A nurse reports, the engineer on duty acknowledges and goes on site, the dean activates the plan,
the head of the cashier's office ticks an item of her checklist, the engineer restores, and the
nurse's own status page says the system is back.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from yingji.incidents import actions
from yingji.incidents.models import ChecklistItem, Incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

def login(browser: Any, base: str, username: str | None, **context_options: Any) -> Any:
    """A page in Chinese, signed in as `username` (None: nobody); `context_options` go to Playwright."""
    context = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-Hans,zh;q=0.9"},
                                  **context_options)
    page = context.new_page()
    if username is None:
        return page
    page.goto(f"{base}/login")
    page.fill("#id_username", username)
    page.fill("#id_password", "yingji-demo")
    page.click("#login-submit")
    page.wait_for_url(f"{base}/")
    return page


def merged_on_the_page(page: Any) -> None:
    """The status page answers before the worker has merged the report ("received"); once the
    merge ran (here: the worker's step, called in its place), the page shows the incident by itself."""
    assert page.locator("#incident-status").inner_text() == "已收到，正在转交"
    assert actions.merge_pending() == 1
    page.locator("#report-received").wait_for(state="detached", timeout=5000)  # its 1 s refresh


def test_an_incident_from_report_to_restored_in_the_chinese_ui(browser: Any, live_server: Any, demo: Any) -> None:
    base = live_server.url

    nurse = login(browser, base, "nurse-wang")
    nurse.click("#nav-report")
    assert nurse.locator("h2").first.inner_text() == "报告故障"
    nurse.check("input[name=system][value=HIS]")
    nurse.fill("#symptom", "无法进入挂号程序")
    nurse.fill("#location", "门诊一楼挂号窗口")
    nurse.fill("#phone", "8001")
    nurse.click("#report-form summary")
    nurse.select_option("#scope", "hospital")
    nurse.click("#report-submit")
    reference = nurse.locator("#report-number").inner_text()
    assert reference.startswith("R")
    merged_on_the_page(nurse)
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
    assert "院长" in dean.locator("#handoff").inner_text()  # the level waits for the commander
    dean.click("[data-confirm=activate]")  # the confirmation says what will happen first
    assert "收费科" in dean.locator("#confirm-activate").inner_text()
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
    engineer.click("[data-confirm=restore]")  # the plan's restore checks, each ticked first
    for box in engineer.locator("#confirm-restore input[name=checks]").all():
        box.check()
    engineer.click("button[data-action=restore]")
    assert engineer.locator("#status").inner_text() == "已恢复"

    nurse.goto(status_url)
    assert nurse.locator("#incident-status").inner_text() == "已恢复"
    assert "已修复" in nurse.locator("#restored-message").inner_text()
    nurse.goto(f"{base}/")
    assert incident.number in nurse.locator("#notices").inner_text()
    nurse.screenshot(path=os.environ.get("YINGJI_SCREENSHOT", "/tmp/yingji-nurse-dashboard.png"), full_page=True)


def test_the_engineer_changes_the_scope_on_the_incident_page_and_the_grade_moves(
        browser: Any, live_server: Any, demo: Any) -> None:
    """"更新事件情况" once never saved: the form's empty marker was read as an unknown system."""
    from yingji.core.actors import CLI
    from yingji.incidents import actions

    incident = actions.report_fault(CLI, system="HIS", symptom="无法登录", location="门诊二楼").incident
    assert (incident.fault_class, incident.response_level) == ("III", "3")
    engineer = login(browser, live_server.url, "eng-duty")
    engineer.goto(f"{live_server.url}/incidents/{incident.number}")
    engineer.click("#facts-form >> xpath=.. >> summary")
    engineer.select_option("#facts-form select[name=scope]", "hospital")
    engineer.fill("#facts-form input[name=patients_affected]", "120")
    with engineer.expect_navigation():
        engineer.click("#facts-form button[type=submit]")
    incident.refresh_from_db()
    assert (incident.scope, incident.patients_affected) == ("hospital", 120)
    assert incident.response_level != "3" and incident.fault_class != "III"
    grades = engineer.locator("#grades").inner_text()
    assert "一类故障" in grades and "二级事件" in grades


def test_a_half_typed_field_survives_the_incident_page_s_refresh(browser: Any, live_server: Any, demo: Any) -> None:
    from yingji.core.actors import CLI
    from yingji.incidents import actions

    incident = actions.report_fault(CLI, system="HIS", symptom="无法登录", location="门诊二楼").incident
    engineer = login(browser, live_server.url, "info-director")
    engineer.goto(f"{live_server.url}/incidents/{incident.number}")
    refresh = ("htmx.ajax('GET', location.pathname, {source: '#incident-live', target: '#incident-live', "
               "swap: 'outerHTML'})")
    # Untouched, the region is swapped for a fresh one (the marker goes with the old one).
    engineer.evaluate("document.querySelector('#incident-live').dataset.old = '1'")
    engineer.evaluate(refresh)
    engineer.wait_for_function("!document.querySelector('#incident-live').dataset.old")
    # Half-typed, the refresh is skipped, the text stays, and the page says why.
    engineer.select_option("#declare-mode select[name=mode]", "standalone")
    engineer.click("#more-actions > summary")
    engineer.click("[data-confirm=cancel]")
    engineer.fill("#incident-live input[name=reason]", "重复报告，已并入")
    engineer.evaluate("document.querySelector('#incident-live').dataset.old = '1'")
    engineer.evaluate(refresh)
    engineer.wait_for_timeout(1500)
    assert engineer.evaluate("document.querySelector('#incident-live').dataset.old") == "1"
    assert engineer.input_value("#incident-live input[name=reason]") == "重复报告，已并入"
    assert engineer.input_value("#declare-mode select[name=mode]") == "standalone"
    assert engineer.locator("#incident-live .live-note").is_visible()


def submit(page: Any, key: str) -> None:
    """Press a key that posts the form, and wait for the answer page."""
    with page.expect_navigation():
        page.keyboard.press(key)


def test_the_downtime_entry_form_works_from_the_keyboard_alone_in_chinese(
        browser: Any, live_server: Any, demo: Any) -> None:
    """A cashier types a pile of paper slips with no mouse: the cursor starts in the form, Tab
    walks the fields, digits pick the kind and insurance, Enter saves and starts the next slip
    with the serial counted on, Alt+T takes a temporary number, and an error puts the cursor on
    the field at fault with the typing kept."""
    from yingji.core.actors import CLI
    from yingji.incidents import actions
    from yingji.recovery.models import ManualRecord

    incident = actions.report_fault(CLI, system="HIS", symptom="HIS 全院无法登录", scope="hospital").incident
    actions.declare_mode(CLI, incident, "manual", ["cashier"])
    base = live_server.url
    cashier = login(browser, base, "cashier-li")
    link = cashier.locator("#downtime-modes a[data-entry=cashier]")
    assert link.inner_text() == "手工登记"
    cashier.goto(base + link.get_attribute("href"))
    assert cashier.locator("#entry-department").inner_text() == "收费科"
    focused = "document.activeElement.id"
    assert cashier.evaluate(focused) == "kind"

    keys = cashier.keyboard
    keys.press("5")                                          # 5 · 收费
    for text in ("6200001", "", "张三", "MZ-0041", None, "25.50", "", None):
        keys.press("Tab")
        if text:
            keys.type(text)
    assert cashier.evaluate(focused) == "insurance"
    keys.press("1")                                          # 1 · the first scheme of the plan
    keys.press("Tab")
    assert cashier.evaluate(focused) == "entry-save"
    keys.press("Shift+Tab")
    submit(cashier, "Enter")                                 # Enter saves from a list as from a field
    assert "单据 MZ-0041 已保存" in cashier.locator(".messages").inner_text()
    first = ManualRecord.objects.get(paper_serial="MZ-0041")
    assert (first.kind, first.card_no, first.patient_name, str(first.amount), first.insurance) == (
        "charge", "6200001", "张三", "25.50", demo.recovery.insurance[0].code)
    assert (first.source, first.created_by, first.department) == ("form", "cashier-li", "cashier")

    # The next slip: kind and time kept, serial counted on, the cursor on the card number.
    assert cashier.evaluate(focused) == "card_no"
    assert cashier.input_value("#paper_serial") == "MZ-0042"
    assert cashier.input_value("#kind") == "charge"
    submit(cashier, "Alt+t")                                 # a patient without a card
    temp_no = cashier.input_value("#temp_no")
    assert temp_no.startswith("MZLS") and cashier.evaluate(focused) == "patient_name"
    keys.type("无名氏")
    for _ in range(3):
        keys.press("Tab")                                    # serial, time, amount
    keys.type("12,5")
    submit(cashier, "Enter")
    assert cashier.evaluate(focused) == "amount"
    assert cashier.locator("[data-error=amount]").inner_text() == "不是有效金额，请写成 25.50 这样的格式。"
    assert cashier.input_value("#patient_name") == "无名氏" and cashier.input_value("#temp_no") == temp_no
    keys.press("Control+a")
    keys.type("12.50")
    submit(cashier, "Enter")
    assert "单据 MZ-0042 已保存" in cashier.locator(".messages").inner_text()
    assert ManualRecord.objects.get(paper_serial="MZ-0042").temp_no == temp_no

    # A handwritten prescription must name its doctor: the cursor goes there.
    keys.press("Shift+Tab")
    keys.press("2")                                          # 2 · 处方
    keys.press("Tab")
    keys.type("6200003")
    submit(cashier, "Enter")
    assert cashier.evaluate(focused) == "clinician"
    assert cashier.locator("[data-error=clinician]").inner_text() == "处方 必须填写医护人员。"
    keys.type("王医生")
    submit(cashier, "Enter")
    assert "单据 MZ-0043 已保存" in cashier.locator(".messages").inner_text()
    assert cashier.locator("#recent tr[data-serial]").count() == 3
    assert "已登记 3 张" in cashier.locator("main").inner_text()
    assert ManualRecord.objects.filter(incident=incident, department="cashier").count() == 3


# Registered before any page script runs (by the browser, not the page, so the policy allows it).
WATCH_CSP = """document.addEventListener("securitypolicyviolation", function (e) {
  (window.__cspViolations = window.__cspViolations || []).push(e.violatedDirective + " " + e.blockedURI);
});"""


def watched_page(browser: Any, width: int = 1366, height: int = 768) -> tuple[Any, list[str]]:
    """A page whose console complaints about the Content-Security-Policy are collected."""
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height},
                                  extra_http_headers={"Accept-Language": "zh-Hans,zh;q=0.9"})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    complaints: list[str] = []
    page.on("console", lambda m: complaints.append(m.text) if "Content Security Policy" in m.text else None)
    return page, complaints


def visit(page: Any, url: str, complaints: list[str]) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    violations = page.evaluate("window.__cspViolations || []")
    assert (violations, complaints) == ([], []), url


def test_every_page_passes_the_content_security_policy_in_chromium(
        browser: Any, live_server: Any, api: Any, tmp_path: Any) -> None:
    """No inline script or style anywhere: the policy blocks nothing on the main pages, the htmx
    refresh still swaps the board in, and the language switch still works without inline JS."""
    shots = os.environ.get("YINGJI_SCREENSHOT_DIR", str(tmp_path))
    from yingji.incidents.models import Report

    from .conftest import report

    base = live_server.url
    incident = report(api("nurse-wang"), scope="hospital")
    api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    api("dean").post(f"/incidents/{incident['id']}/activate")
    number = incident["number"]
    access_key = Report.objects.get(number=incident["report"]).access_key

    page, complaints = watched_page(browser)
    visit(page, f"{base}/login", complaints)
    page.fill("#id_username", "info-director")
    page.fill("#id_password", "yingji-demo")
    page.click("#login-submit")
    page.wait_for_url(f"{base}/")
    for path in ["/", f"/incidents/{number}", "/report", "/report?phone=1", "/screen", f"/incidents/{number}/entry",
                 f"/incidents/{number}/records", f"/incidents/{number}/review", "/plan", "/rosters/", "/temp-ranges",
                 f"/r/{access_key}", "/incidents/", "/api/v1/docs"]:
        visit(page, base + path, complaints)
    assert page.locator("#swagger-ui .info").count() == 1  # the API docs rendered under the policy

    # htmx: the board is fetched again every 10 s and swapped in (a second report shows up).
    visit(page, f"{base}/", complaints)
    second = report(api("nurse-wang"), system="LIS")
    page.wait_for_selector(f"#live a[href='/incidents/{second['number']}']", timeout=20000)
    assert page.evaluate("window.__cspViolations || []") == [] and complaints == []
    page.screenshot(path=f"{shots}/dashboard-1366.png")
    visit(page, f"{base}/incidents/{number}", complaints)
    page.screenshot(path=f"{shots}/incident-1366.png", full_page=True)

    # The language switch: choosing English submits its form through forms.js.
    with page.expect_navigation():
        page.select_option("#lang-form select", "en")
    assert page.locator("header nav a").first.inner_text() == "Dashboard"
    assert page.evaluate("window.__cspViolations || []") == [] and complaints == []

    phone, phone_complaints = watched_page(browser, 390, 844)
    visit(phone, f"{base}/r/{access_key}", phone_complaints)
    phone.screenshot(path=f"{shots}/status-390.png", full_page=True)
    visit(phone, f"{base}/incidents/{number}/records", phone_complaints)  # redirects to the login page
    phone.screenshot(path=f"{shots}/login-390.png", full_page=True)
