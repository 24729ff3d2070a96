"""A hospital-wide HIS outage walked in Debian's Chromium by each person of the plan, as they would.

The nurse reports; the engineer paged sees the next deadline and the red banner of the channel
nobody could be reached on, acknowledges and goes on site; the director sees that the level waits
for the dean and why he has no button; the dean finds the request under "my pages" and activates
after reading what will happen; the cashier's head finds her own department first; the cashier
enters a paper slip; the page is checked on a phone. On the way, axe-core (vendored from its npm
package) checks the dashboard, the report form, the incident page, the ack page, the entry form
and the worklist, and every page is photographed at 1366×768 and 390×844 into YINGJI_SCREENS
(default build/screens), from which the key ones are copied to docs/screens/.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from yingji.incidents.models import Incident
from yingji.notify.models import Message
from yingji.notify.service import ack_token

from .test_browser import login, merged_on_the_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
SCREENS = Path(os.environ.get("YINGJI_SCREENS", ROOT / "build" / "screens"))
DESKTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}


def person(chromium: Any, base: str, username: str | None, viewport: dict[str, int] = DESKTOP) -> Any:
    """`test_browser.login` at a size; CSP is bypassed only so that the test can inject axe-core,
    the pages themselves never need it."""
    return login(chromium, base, username, viewport=viewport, bypass_csp=True)


def accessible(page: Any) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
           if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{page.url}: {bad}"


def fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"


def shoot(page: Any, name: str) -> None:
    """The page at both sizes, whole, into the screens folder; then back to the size it had."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENS / f"{name}-{suffix}.png"), full_page=True)
        if viewport is PHONE:
            fits(page)
    page.set_viewport_size(size)


def test_the_outage_walked_by_each_role(browser: Any, live_server: Any, demo: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("YINGJI_SMS_URL", raising=False)
    base = live_server.url

    nurse = person(browser, base, "nurse-wang")
    nurse.goto(f"{base}/report")
    accessible(nurse)
    shoot(nurse, "report-form")
    nurse.check("input[name=system][value=HIS]")
    nurse.fill("#symptom", "全院 HIS 无法登录，挂号收费停止")
    nurse.fill("#location", "门诊一楼挂号窗口")
    nurse.click("#report-form summary")
    nurse.select_option("#scope", "hospital")
    nurse.click("#report-submit")
    shoot(nurse, "report-received")
    merged_on_the_page(nurse)
    shoot(nurse, "report-status")
    incident = Incident.objects.get()
    url = f"{base}/incidents/{incident.number}"

    # The engineer on call was paged (by roster, so whoever it is now); he sees what to do first.
    paged = Message.objects.filter(incident=incident, kind="page", person__startswith="eng-").first()
    assert paged is not None
    engineer = person(browser, base, paged.person)
    assert engineer.locator("#pages-badge").inner_text() == "1"
    engineer.goto(url)
    assert "确认收到呼叫" in engineer.locator("#next-deadline").inner_text()
    banner = engineer.locator(".delivery-problem[data-channel=sms]")
    assert banner.count() == 1 and "YINGJI_SMS_URL" in banner.inner_text()
    assert "您已于" in engineer.locator("#do-now").inner_text()
    accessible(engineer)
    shoot(engineer, "incident-engineer")
    engineer.click("button[data-action=acknowledge]")
    assert engineer.locator("#status").inner_text() == "已确认"
    assert engineer.locator("#pages-badge").count() == 0  # his page is answered
    engineer.click("button[data-action=arrive]")
    assert engineer.locator("#status").inner_text() == "工程师已到场"

    # The director: level 2 is the dean's to activate, and the page says so instead of a button.
    director = person(browser, base, "info-director")
    director.goto(url)
    assert "等待院长 王建国" in director.locator("#handoff").inner_text()
    assert "只能由院长 王建国" in director.locator("#do-now").inner_text()
    assert director.locator("[data-confirm=activate]").count() == 0
    shoot(director, "incident-director")

    # The dean: the request is under "my pages"; activating first says what will happen.
    dean = person(browser, base, "dean")
    assert int(dean.locator("#pages-badge").inner_text()) >= 1
    dean.click("#my-pages")
    assert "需启动预案" in dean.locator("#pages").inner_text()
    shoot(dean, "my-pages-dean")
    dean.goto(url)
    dean.click("[data-confirm=activate]")
    effects = dean.locator("#confirm-activate").inner_text()
    assert "收费科" in effects and "呼叫" in effects
    shoot(dean, "incident-dean-confirm")
    dean.click("button[data-action=activate]")
    assert dean.locator("#status").inner_text() == "预案已启动"
    assert dean.locator("#handoff").count() == 0

    # The cashier's head: her department first, open; the rest folded with their counts.
    head = person(browser, base, "cashier-head", PHONE)
    head.goto(url)
    assert "代表收费科确认" in head.locator("#do-now").inner_text()
    assert head.locator("#clocks tr[data-department=cashier]").first.is_visible()
    assert not head.locator("#dept-deadlines tr[data-department=medtech]").is_visible()
    assert head.locator("details.task[data-department=cashier]").get_attribute("open") is not None
    fits(head)
    accessible(head)
    shoot(head, "incident-department-lead")
    head.click("button[data-action=department_ack]")
    assert "褚红 于" in head.locator("details.task[data-department=cashier] summary").inner_text()

    # A page's link opened on a phone without a login.
    link = Message.objects.filter(incident=incident, person="vp-info", needs_ack=True).first()
    assert link is not None
    phone = person(browser, base, None, PHONE)
    phone.goto(f"{base}/ack/{ack_token(link.ack_key)}")
    fits(phone)
    accessible(phone)
    shoot(phone, "ack-page")

    # The cashier types a paper slip; her head sees the worklist.
    cashier = person(browser, base, "cashier-li")
    cashier.goto(f"{url}/entry")
    accessible(cashier)
    shoot(cashier, "entry-form")
    head.goto(f"{url}/records")
    accessible(head)
    shoot(head, "worklist")

    director.goto(f"{base}/")
    assert "短信无法通知任何人" in director.locator("#live").inner_text()
    accessible(director)
    shoot(director, "dashboard")
