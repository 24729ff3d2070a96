"""The plan's deadlines run for real: pages leave on real SMTP and HTTP, links acknowledge, breaches escalate.

Deadlines are seconds long (the plan allows `2s`), and the worker's two steps (fire due timers,
send due deliveries) are driven in the test's own thread against the test database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from django.test import Client

from yingji.accounts.models import User
from yingji.core.actors import CLI
from yingji.core.demo import load_demo
from yingji.core.models import AuditEntry
from yingji.core.sinks import HttpSink, SmtpSink
from yingji.incidents.models import DowntimeMode, Incident, SystemState
from yingji.notify.models import Delivery, Message
from yingji.notify.service import deliver_due
from yingji.oncall.rosters import duty_at
from yingji.plans import actions as plan_actions
from yingji.plans.store import published
from yingji.timers import service

from .conftest import RESTORED, report
from .fastplan import fast_plan_text


@pytest.fixture
def sinks(settings: Any) -> Iterator[tuple[SmtpSink, HttpSink]]:
    with SmtpSink() as smtp, HttpSink() as http:
        settings.YINGJI_EMAIL_URL = smtp.url
        settings.YINGJI_BASE_URL = "http://yingji.test"
        yield smtp, http


@pytest.fixture
def fast(db: Any, sinks: tuple[SmtpSink, HttpSink]) -> Any:
    plan_actions.import_and_publish(CLI, fast_plan_text(sinks[1].port), note="fast")
    load_demo("zh")
    return published()[1]  # type: ignore[index]


def drive(until: Callable[[], bool], timeout: float = 15) -> None:
    """Be the worker until `until()` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "timed out waiting for the worker"
        service.run_due()
        deliver_due()
        time.sleep(0.05)


def mail_to(smtp: SmtpSink, address: str) -> list[Any]:
    return [m for m in smtp.messages if address in m["To"]]


def sms_to(http: HttpSink, mobile: str) -> list[Any]:
    return [body for path, body in http.requests if path.startswith("/sms") and body.get("to") == mobile]


def messages_to(incident_id: int, person: str, *kinds: str) -> Any:
    rows = Message.objects.filter(incident_id=incident_id, person=person)
    return rows.filter(kind__in=kinds) if kinds else rows


def test_nobody_acks_so_the_next_is_paged_and_their_link_ack_stops_the_chain(fast: Any, api: Any, sinks: Any) -> None:
    smtp, http = sinks
    incident = report(api("nurse-wang"))
    assert incident["grade"]["fault_class"] == "III"
    on_duty = fast.person(duty_at(fast, fast.roster("it-duty"), Incident.objects.get().reported_at).person)
    deputy, director = fast.person("info-deputy"), fast.person("info-director")

    drive(lambda: bool(mail_to(smtp, on_duty.email)) and bool(sms_to(http, on_duty.mobile)))
    assert "/ack/" in mail_to(smtp, on_duty.email)[0].get_content()
    assert not mail_to(smtp, deputy.email)

    drive(lambda: bool(mail_to(smtp, deputy.email)))  # 2 s without an acknowledgement: the next in the chain
    body = mail_to(smtp, deputy.email)[0].get_content()
    link = urlparse(re.search(r"http://yingji\.test(/ack/\S+)", body)[1])  # type: ignore[index]
    assert Client().get(link.path).status_code == 200  # opening the link shows the button only
    assert Incident.objects.get().status == "reported"
    page = Client().post(link.path, follow=True)
    assert page.status_code == 200 and "已确认" in page.content.decode()
    assert Incident.objects.get().status == "acknowledged"
    assert Client().post(link.path).status_code == 302  # a second press changes nothing

    time.sleep(2.5)  # past the next acknowledge deadline: the director must not be paged
    drive(lambda: not Delivery.objects.filter(state="queued").exists())
    assert not messages_to(incident["id"], director.code, "page", "escalation").exists()
    # (The fix deadline has passed by now, so level 2 asks the director for his report to the
    # deputy commander: that page has its own link; no other may reach him.)
    report_pages = {m.subject for m in messages_to(incident["id"], director.code, "level_report")}
    assert not [m for m in mail_to(smtp, director.email) if "/ack/" in m.get_content()
                and str(m["Subject"]).strip() not in report_pages]
    # Close the loop: the engineer paged first hears who acknowledged.
    updates = [m.body for m in messages_to(incident["id"], on_duty.code, "update")]
    assert any(f"{deputy.name}" in body and "已确认" in body for body in updates), updates
    detail = api("eng-duty").get(f"/incidents/{incident['id']}").json()
    ack_timers = [t for t in detail["timers"] if t["kind"] == "ack"]
    assert [t["state"] for t in ack_timers] == ["fired", "met"]
    assert ack_timers[1]["by"].startswith(deputy.name)
    sent = [d for n in detail["notifications"] for d in n["deliveries"] if d["state"] == "sent"]
    assert {d["channel"] for d in sent} == {"email", "sms"}


def test_not_fixed_in_time_raises_level_3_to_2_and_tells_the_director(fast: Any, api: Any, sinks: Any) -> None:
    """Seed 001: "若30分钟未恢复，升级为二级事件". The level rises, the fault class does not."""
    smtp, http = sinks
    incident = report(api("nurse-wang"))
    api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    director, vp = fast.person("info-director"), fast.person("vp-info")
    drive(lambda: Incident.objects.get().response_level == "2")
    current = Incident.objects.get()
    assert current.fault_class == "III" and current.raised == {"response_level": "2"}
    drive(lambda: any("4 秒" in m.get_content() for m in mail_to(smtp, director.email))  # the fix deadline, in words
          and bool(sms_to(http, vp.mobile)))
    actions = list(AuditEntry.objects.filter(subject_id=incident["id"]).values_list("action", flat=True))
    assert "incident.escalated" in actions
    # The rules cannot lower a raised grade when facts change.
    api("eng-duty").post(f"/incidents/{incident['id']}/restore", RESTORED)
    assert Incident.objects.get().response_level == "2"


def test_core_outage_declares_standalone_mode_and_tells_the_cashier(fast: Any, api: Any, sinks: Any) -> None:
    _, http = sinks
    incident = report(api("nurse-wang"), scope="hospital")
    drive(lambda: DowntimeMode.objects.filter(department="cashier").exists())
    mode = DowntimeMode.objects.get(department="cashier")
    assert mode.mode == "standalone" and mode.declared_by == "worker"
    assert SystemState.objects.get(code="HIS").status == "down"  # the cashier works alone; HIS is still down
    cashier = fast.person("cashier-head")
    drive(lambda: bool(sms_to(http, cashier.mobile)))
    assert "单机" in sms_to(http, cashier.mobile)[0]["message"]
    api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    api("eng-duty").post(f"/incidents/{incident['id']}/restore", RESTORED)
    assert DowntimeMode.objects.get(department="cashier").ended_at is not None
    assert SystemState.objects.get(code="HIS").status == "up"


def test_a_silent_department_is_escalated_to_the_medical_and_nursing_heads(fast: Any, api: Any, sinks: Any) -> None:
    _, http = sinks
    incident = report(api("nurse-wang"), scope="hospital")
    api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    assert api("dean").post(f"/incidents/{incident['id']}/activate").status_code == 200
    api("cashier-head").post(f"/notifications/{messages_to(incident['id'], 'cashier-head', 'activation').get().pk}/ack")
    medical = fast.person("medical-head")
    drive(lambda: messages_to(incident["id"], "medical-head", "breach").count() >= 2)
    breached = [e.data["department"] for e in AuditEntry.objects.filter(action="timer.breached")
                if e.data["deadline"] == "department_ack"]
    assert "cashier" not in breached and "pharmacy" not in breached and "outpatient-office" in breached
    drive(lambda: bool(sms_to(http, medical.mobile)))


def test_a_failing_gateway_is_retried_and_every_attempt_logged(fast: Any, api: Any, sinks: Any) -> None:
    _, http = sinks
    http.fail_first = 1
    report(api("nurse-wang"))
    drive(lambda: Delivery.objects.filter(channel="sms").exists()
          and not Delivery.objects.filter(channel="sms", state="queued").exists())
    retried = [d for d in Delivery.objects.filter(channel="sms") if len(d.log) == 2]
    assert len(retried) == 1
    assert retried[0].state == "sent" and retried[0].log[0]["ok"] is False and retried[0].log[1]["ok"] is True


def test_unconfigured_channels_fail_visibly_and_an_expired_link_is_refused(
        fast: Any, api: Any, settings: Any, monkeypatch: Any) -> None:
    settings.YINGJI_EMAIL_URL = ""
    incident = report(api("nurse-wang"))
    email = Delivery.objects.filter(channel="email").first()
    assert email is not None and email.state == "failed" and "YINGJI_EMAIL_URL" in email.last_error
    message = Message.objects.filter(incident_id=incident["id"], needs_ack=True).first()
    assert message is not None
    link = urlparse(re.search(r"(/ack/\S+)", message.body)[1])  # type: ignore[index]
    real = time.time
    monkeypatch.setattr("django.core.signing.time.time", lambda: real() + 2 * 86400)
    assert Client().get(link.path).status_code == 410
    assert Incident.objects.get().status == "reported"


def test_updates_are_written_in_the_plans_language_whatever_language_is_active(db: Any) -> None:
    from django.utils.translation import override

    from yingji.incidents import actions

    load_demo("en")
    with override("zh-hans"):  # a Chinese-speaking user's request, or the worker's default
        intake = actions.report_fault(CLI, system="HIS", symptom="cannot log in")
        actions.acknowledge(CLI, intake.incident)
    [update] = Message.objects.filter(kind="update")
    assert update.body.startswith("Acknowledged by Yingji administrator (command line).")


def test_a_page_that_reaches_nobody_is_said_to_the_office(demo: Any) -> None:
    """A department without a head in the plan: the office hears who could not be told, once."""
    from yingji.core.actors import CLI
    from yingji.incidents import actions
    from yingji.plans import actions as plan_actions
    from yingji.plans.loader import template_text
    from yingji.plans.store import forget_published

    plan_actions.import_and_publish(CLI, template_text("zh").replace(
        "kind: finance, lead: cashier-head,", "kind: finance,"), note="cashier without a head")
    forget_published()
    incident = actions.report_fault(CLI, system="HIS", symptom="全院无法登录", scope="hospital").incident
    actions.perform(User.objects.get(username="dean"), incident, "activate")  # level 2 tasks the cashier
    told = Message.objects.filter(incident=incident, kind="update", body__contains="收费科没有负责人")
    assert sorted(told.values_list("person", flat=True)) == ["info-deputy", "info-director"]
    assert AuditEntry.objects.filter(subject_id=incident.pk, action="incident.unreached",
                                     data__target="department:cashier").count() == 1

