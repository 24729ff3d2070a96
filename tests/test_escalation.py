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
import yaml
from django.test import Client
from django.utils.translation import gettext_lazy, override

from yingji.accounts.models import User
from yingji.core import clock
from yingji.core.actors import CLI
from yingji.core.demo import load_demo
from yingji.core.models import AuditEntry
from yingji.core.sinks import HttpSink, SmtpSink
from yingji.incidents.models import DowntimeMode, Incident, SystemState
from yingji.notify.models import Delivery, Message
from yingji.notify.service import deliver_due
from yingji.oncall.rosters import duty_at
from yingji.oncall.targets import resolve
from yingji.plans import actions as plan_actions
from yingji.plans.durations import human_duration
from yingji.plans.store import forget_published, published
from yingji.timers import service

from .conftest import RESTORED
from .fastplan import fast_plan_text
from .hospitals import HOSPITALS, Cast, plan_text


@pytest.fixture
def sinks(settings: Any) -> Iterator[tuple[SmtpSink, HttpSink]]:
    with SmtpSink() as smtp, HttpSink() as http:
        settings.YINGJI_EMAIL_URL = smtp.url
        settings.YINGJI_BASE_URL = "http://yingji.test"
        yield smtp, http


@pytest.fixture(params=HOSPITALS)
def fast(request: Any, db: Any, sinks: tuple[SmtpSink, HttpSink]) -> Cast:
    """Each plan in tests/hospitals.py with second-long deadlines and its pages sent to the sinks."""
    return Cast.publish(request.param, fast_plan_text(sinks[1].port, request.param))


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


def test_nobody_acks_so_the_next_is_paged_and_their_link_ack_stops_the_chain(fast: Cast, sinks: Any) -> None:
    smtp, http = sinks
    plan = fast.plan
    incident = fast.report()
    assert incident["grade"]["fault_class"] == fast.default("fault_class")
    treatment = plan.treatment_for(fast.default("fault_class"))
    assert treatment is not None
    group = next(t.split(":")[1] for t in treatment.page if t.startswith("oncall:"))
    on_duty = plan.person(duty_at(plan, plan.roster_of_group(group), Incident.objects.get().reported_at).person)
    deputy, director = (plan.person(code) for code in fast.people(treatment.escalation)[:2])

    drive(lambda: bool(mail_to(smtp, on_duty.email)) and bool(sms_to(http, on_duty.mobile)))
    assert "/ack/" in mail_to(smtp, on_duty.email)[0].get_content()
    assert not mail_to(smtp, deputy.email)

    drive(lambda: bool(mail_to(smtp, deputy.email)))  # 2 s without an acknowledgement: the next in the chain
    body = mail_to(smtp, deputy.email)[0].get_content()
    link = urlparse(re.search(r"http://yingji\.test(/ack/\S+)", body)[1])  # type: ignore[index]
    assert Client().get(link.path).status_code == 200  # opening the link shows the button only
    assert Incident.objects.get().status == "reported"
    page = Client().post(link.path, follow=True)
    assert page.status_code == 200 and 'id="ack-result"' in page.content.decode()
    assert Incident.objects.get().status == "acknowledged"
    assert Client().post(link.path).status_code == 302  # a second press changes nothing

    time.sleep(2.5)  # past the next acknowledge deadline: the director must not be paged
    drive(lambda: not Delivery.objects.filter(state="queued").exists())
    assert not messages_to(incident["id"], director.code, "page", "escalation").exists()
    # (The fix deadline may have passed by now, so a level owing a report upward asks the director
    # for it: that page has its own link; no other may reach him.)
    report_pages = {m.subject for m in messages_to(incident["id"], director.code, "level_report")}
    assert not [m for m in mail_to(smtp, director.email) if "/ack/" in m.get_content()
                and str(m["Subject"]).strip() not in report_pages]
    # Close the loop: the engineer paged first hears who acknowledged, in the plan's language.
    said = fast.words(gettext_lazy("Acknowledged by %(who)s."), who=deputy.name)
    updates = [m.body for m in messages_to(incident["id"], on_duty.code, "update")]
    assert any(body.startswith(said.split(deputy.name)[0] + deputy.name) for body in updates), (said, updates)
    detail = fast.api(fast.engineer).get(f"/incidents/{incident['id']}").json()
    ack_timers = [t for t in detail["timers"] if t["kind"] == "ack"]
    assert [t["state"] for t in ack_timers] == ["fired", "met"]
    assert ack_timers[1]["by"].startswith(deputy.name)
    sent = [d for n in detail["notifications"] for d in n["deliveries"] if d["state"] == "sent"]
    assert {d["channel"] for d in sent} == {"email", "sms"}


def test_not_fixed_in_time_raises_the_grade_the_plan_says_and_tells_the_director(fast: Cast, sinks: Any) -> None:
    """Seed 001: "若30分钟未恢复，升级为二级事件". The level rises, the fault class does not."""
    smtp, http = sinks
    plan = fast.plan
    [rule] = plan.timers.fix_escalation
    incident = fast.report()
    assert incident["grade"][rule.scheme] == rule.grade
    fast.api(fast.engineer).post(f"/incidents/{incident['id']}/acknowledge")
    director, vp = (plan.person(code) for code in fast.people(plan.timers.fix_breach)[:2])
    drive(lambda: getattr(Incident.objects.get(), rule.scheme) == rule.raise_to)
    current = Incident.objects.get()
    assert current.fault_class == fast.default("fault_class") and current.raised == {rule.scheme: rule.raise_to}
    with override(plan.hospital.language):
        limit = human_duration(plan.timers.fix)  # the fix deadline, in words: "4 秒", "4 s"
    drive(lambda: any(limit in m.get_content() for m in mail_to(smtp, director.email))
          and bool(sms_to(http, vp.mobile)))
    actions = list(AuditEntry.objects.filter(subject_id=incident["id"]).values_list("action", flat=True))
    assert "incident.escalated" in actions
    # The rules cannot lower a raised grade when facts change.
    fast.api(fast.engineer).post(f"/incidents/{incident['id']}/restore", RESTORED)
    assert getattr(Incident.objects.get(), rule.scheme) == rule.raise_to


def test_core_outage_declares_standalone_mode_and_tells_its_department(fast: Cast, sinks: Any) -> None:
    _, http = sinks
    switch = fast.plan.timers.modes[0]
    department = fast.standalone
    incident = fast.report(scope="hospital")
    drive(lambda: DowntimeMode.objects.filter(department=department.code).exists())
    mode = DowntimeMode.objects.get(department=department.code)
    assert mode.mode == switch.mode == "standalone" and mode.declared_by == "worker"
    assert SystemState.objects.get(code=fast.core).status == "down"  # the desk works alone; the system is still down
    lead = fast.plan.person(fast.lead(department.code))
    drive(lambda: bool(sms_to(http, lead.mobile)))
    assert switch.instruction and switch.instruction in sms_to(http, lead.mobile)[0]["message"]
    fast.api(fast.engineer).post(f"/incidents/{incident['id']}/acknowledge")
    fast.api(fast.engineer).post(f"/incidents/{incident['id']}/restore", RESTORED)
    assert DowntimeMode.objects.get(department=department.code).ended_at is not None
    assert SystemState.objects.get(code=fast.core).status == "up"


def test_a_silent_department_is_escalated_to_whom_the_plan_names(fast: Cast, sinks: Any) -> None:
    """The medical and nursing heads in the shipped plans, the director of operations in the second."""
    _, http = sinks
    plan = fast.plan
    incident = fast.report(scope="hospital")
    fast.api(fast.engineer).post(f"/incidents/{incident['id']}/acknowledge")
    assert fast.api(fast.commander).post(f"/incidents/{incident['id']}/activate").status_code == 200
    rule = plan.activation_for(Incident.objects.get().activation_level)
    assert rule is not None and rule.departments != "all"
    silent, answering = (code for code in rule.departments[:2])
    lead = fast.lead(answering)
    fast.api(lead).post(f"/notifications/{messages_to(incident['id'], lead, 'activation').get().pk}/ack")
    told = plan.person(resolve(plan, plan.timers.department_ack_breach, clock.now())[0])
    drive(lambda: messages_to(incident["id"], told.code, "breach").count() >= 2)
    breached = [e.data["department"] for e in AuditEntry.objects.filter(action="timer.breached")
                if e.data["deadline"] == "department_ack"]
    assert answering not in breached and silent in breached
    drive(lambda: bool(sms_to(http, told.mobile)))


def test_a_failing_gateway_is_retried_and_every_attempt_logged(fast: Cast, sinks: Any) -> None:
    _, http = sinks
    http.fail_first = 1
    fast.report()
    drive(lambda: Delivery.objects.filter(channel="sms").exists()
          and not Delivery.objects.filter(channel="sms", state="queued").exists())
    retried = [d for d in Delivery.objects.filter(channel="sms") if len(d.log) == 2]
    assert len(retried) == 1
    assert retried[0].state == "sent" and retried[0].log[0]["ok"] is False and retried[0].log[1]["ok"] is True


def test_unconfigured_channels_fail_visibly_and_an_expired_link_is_refused(
        fast: Cast, settings: Any, monkeypatch: Any) -> None:
    settings.YINGJI_EMAIL_URL = ""
    incident = fast.report()
    email = Delivery.objects.filter(channel="email").first()
    assert email is not None and email.state == "failed" and "YINGJI_EMAIL_URL" in email.last_error
    message = Message.objects.filter(incident_id=incident["id"], needs_ack=True).first()
    assert message is not None
    link = urlparse(re.search(r"(/ack/\S+)", message.body)[1])  # type: ignore[index]
    real = time.time
    monkeypatch.setattr("django.core.signing.time.time", lambda: real() + fast.plan.notifications.ack_valid + 60)
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


@pytest.mark.parametrize("name", HOSPITALS)
def test_a_page_that_reaches_nobody_is_said_to_the_office(db: Any, name: str) -> None:
    """A department without a head in the plan: the office hears who could not be told, once."""
    from yingji.incidents import actions
    from yingji.oncall.targets import why_nobody

    data = yaml.safe_load(plan_text(name))
    plan = Cast.publish(name).plan
    incident = actions.report_fault(CLI, system=plan.timers.modes[0].systems[0], symptom="Nobody can log in",
                                    scope="hospital").incident
    rule = plan.activation_for(incident.response_level)
    assert rule is not None and rule.departments != "all"
    headless = rule.departments[0]
    next(d for d in data["departments"] if d["code"] == headless).pop("lead")
    plan_actions.import_and_publish(CLI, yaml.safe_dump(data, allow_unicode=True), note="a department without a head")
    forget_published()
    incident = actions.report_fault(CLI, system=plan.systems[-1].code, symptom="Nobody can log in",
                                    scope="hospital").incident
    commander = next(p.code for p in plan.people if p.role == "commander")
    actions.perform(User.objects.get(username=commander), incident, "activate")  # tasks the headless department
    with override(plan.hospital.language):
        why = why_nobody(published()[1], f"department:{headless}")[1]  # type: ignore[index]
    told = Message.objects.filter(incident=incident, kind="update", body__contains=why)
    office = plan.organization.office
    assert sorted(told.values_list("person", flat=True)) == sorted([office.leader, *office.deputies])
    assert AuditEntry.objects.filter(subject_id=incident.pk, action="incident.unreached",
                                     data__target=f"department:{headless}").count() == 1
