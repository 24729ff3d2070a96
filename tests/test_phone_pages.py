"""What a person holding a phone needs from the pages they reach by a link: numbers they can tap,
a mistyped link that says what happened, a report form that says what is already reported, and
an acknowledgement page that says what was acknowledged and what to do next."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory

from yingji.accounts.lockout import locked_out_page
from yingji.accounts.models import User
from yingji.core import clock
from yingji.core.actors import CLI
from yingji.incidents import actions
from yingji.incidents.models import DepartmentTask, Incident, Report
from yingji.notify.models import Message
from yingji.notify.service import ack_token
from yingji.timers import service

from .conftest import RESTORE_CHECKS, report

HOTLINE = 'href="tel:01000000000"'  # the demo plan's it_hotline, 010-00000000


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def link(message: Message) -> str:
    return f"/ack/{ack_token(message.ack_key)}"


def test_the_hotline_is_a_number_to_tap_wherever_it_is_shown(api: Any) -> None:
    incident = report(api("nurse-wang"))
    key = Report.objects.get(number=incident["report"]).access_key
    message = Message.objects.filter(incident_id=incident["id"], needs_ack=True).first()
    assert message is not None
    for path in ["/report", f"/r/{key}", "/r/no-such-key", "/no-such-page", link(message)]:
        assert HOTLINE in Client().get(path).content.decode(), path
    request = RequestFactory().get("/login")
    request.user = AnonymousUser()
    locked = locked_out_page(request)
    assert locked.status_code == 429 and HOTLINE in locked.content.decode()


def test_a_bulletin_s_contacts_are_numbers_to_tap(api: Any) -> None:
    incident = Incident.objects.get(pk=report(api("nurse-wang"), system="INS")["id"])
    actions.raise_scenario(User.objects.get(username="info-director"), incident, "insurance-network")
    dashboard = text(Client().get("/"))
    assert re.search(r'<span class="contact">[^<]+ <a class="tel" href="tel:\d+">[-\d]+</a></span>', dashboard)
    assert 'href="tel:None"' not in dashboard


@pytest.mark.parametrize(("headers", "cookies", "expected", "again"), [
    ({"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9"}, {}, "找不到这份故障报告", "报告故障"),
    ({"HTTP_ACCEPT_LANGUAGE": "en"}, {}, "Fault report not found", "Report a fault"),
    ({}, {"django_language": "en"}, "Fault report not found", "Report a fault"),
])
def test_a_mistyped_report_link_says_what_happened_in_the_reader_s_language(
        demo: Any, headers: dict[str, str], cookies: dict[str, str], expected: str, again: str) -> None:
    client = Client(**headers)
    for name, value in cookies.items():
        client.cookies[name] = value
    response = client.get("/r/iw_YgQAVZdncJ92lqR4kRx")
    assert response.status_code == 404
    page = text(response)
    assert expected in page and HOTLINE in page
    assert re.search(rf'<a class="button big" href="/report" id="report-again">{again}</a>', page)


@pytest.mark.parametrize(("language", "expected"), [("zh-hans", "页面不存在"), ("en", "Page not found")])
def test_an_unknown_address_is_the_site_s_own_page_not_found(demo: Any, language: str, expected: str) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/incidnets/")
    assert response.status_code == 404
    assert expected in text(response) and 'href="/report"' in text(response)


def test_the_report_form_says_which_systems_are_already_reported(api: Any) -> None:
    nurse = api("nurse-wang")
    first = report(nurse, scope="hospital")
    report(nurse, location="急诊")
    report(nurse, location="住院部")
    form = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    form.force_login(User.objects.get(username="nurse-wang"))
    page = text(form.get("/report"))
    [line] = re.findall(r'<label class="reported" data-reported="(\w+)">.*?<span class="already">(.*?)</span>', page)
    assert line == ("HIS", f"已报告故障（{first['number']}，3 条报告），您可以补充")
    english = text(form.get("/report", HTTP_ACCEPT_LANGUAGE="en"))
    assert f"Already reported ({first['number']}, 3 reports): you can add to it" in english

    engineer = User.objects.get(username="eng-duty")
    for step in ("acknowledge", "restore"):
        actions.perform(engineer, Incident.objects.get(pk=first["id"]), step, checks=RESTORE_CHECKS)
    assert 'class="already"' not in form.get("/report").content.decode()


def _engineer_s_page(incident: dict[str, Any]) -> Message:
    """The first page of an incident: the engineer on duty now (the roster says who)."""
    message = Message.objects.filter(incident_id=incident["id"], kind="page").order_by("id").first()
    assert message is not None and User.objects.get(person=message.person).role == "engineer"
    return message


def _acknowledged(path: str) -> str:
    phone = Client(HTTP_ACCEPT_LANGUAGE="zh-hans", HTTP_USER_AGENT="Mozilla/5.0 (iPhone)")
    assert phone.post(path).status_code == 302
    return text(phone.get(path))


def test_the_engineer_s_page_says_what_was_acknowledged_and_to_go_on_site(api: Any) -> None:
    incident = report(api("nurse-wang"))
    message = _engineer_s_page(incident)
    before = text(Client().get(link(message)))
    assert 'id="ack-button"' in before and 'id="ack-next"' not in before
    page = _acknowledged(link(message))
    assert re.search(r'<td id="ack-system">医院信息系统（HIS）</td>', page)  # the plan's name, not "HIS"
    assert f'<strong id="ack-incident">{incident["number"]}</strong>' in page
    assert '<td id="ack-kind">呼叫 ·' in page
    assert 'data-next="on_site"' in page and "请立即赶赴现场。" in page
    assert f'href="/incidents/{incident["number"]}" id="ack-open"' in page
    assert HOTLINE in page and "ack-escalation" not in page


def test_an_escalation_says_it_is_one(api: Any) -> None:
    incident = report(api("nurse-wang"))
    clock.advance(timedelta(minutes=6))  # nobody acknowledged within the plan's 5 minutes
    service.run_due()
    escalation = Message.objects.filter(incident_id=incident["id"], kind="escalation").first()
    assert escalation is not None
    shown = text(Client().get(link(escalation)))
    assert '<p class="banner red" id="ack-escalation">这是升级呼叫：此前呼叫的人员均未在5 分钟内确认。</p>' in shown
    page = _acknowledged(link(escalation))
    assert 'data-next="escalation"' in page and "升级呼叫" in page
    assert f'href="/incidents/{incident["number"]}" id="ack-open"' in page


def test_a_page_for_an_incident_someone_has_taken_names_them_with_their_number(api: Any) -> None:
    incident = report(api("nurse-wang"))
    api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    other = Message.objects.filter(incident_id=incident["id"], kind="page").exclude(person="eng-duty").first()
    assert other is not None
    page = _acknowledged(link(other))
    assert 'data-next="taken"' in page and "周杰 已接手此事件。" in page
    assert re.search(r'<li id="ack-leader">负责处置: 周杰 \(值班工程师\) <a class="tel" href="tel:13800000008">', page)


def test_a_department_s_activation_says_to_start_its_procedure(api: Any) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    api("dean").post(f"/incidents/{incident['id']}/activate")
    task = DepartmentTask.objects.get(incident_id=incident["id"], department="cashier")
    message = Message.objects.get(task=task, kind="activation")
    page = _acknowledged(link(message))
    assert '<td id="ack-kind">预案启动 · 收费科 ·' in page
    assert 'data-next="department"' in page and "请立即启动收费科的停机应急流程。" in page
    assert f'href="/incidents/{incident["number"]}#task-{task.pk}" id="ack-open"' in page
    # The engineer who took it is named, but a link needs no login: his mobile is not shown to a
    # department lead (the plan page shows mobiles only to those who page people); the hotline is.
    assert 'id="ack-leader"' in page and "周杰" in page and "13800000008" not in page and HOTLINE in page
    task.refresh_from_db()
    assert task.acknowledged_at is not None


def test_a_page_for_an_incident_already_over_says_there_is_nothing_to_do(api: Any) -> None:
    incident = report(api("nurse-wang"))
    message = _engineer_s_page(incident)
    actions.perform(CLI, Incident.objects.get(pk=incident["id"]), "cancel", reason="误报")
    before = text(Client(HTTP_ACCEPT_LANGUAGE="en").get(link(message)))
    assert "The incident is already over (Cancelled): nothing more to do for this page." in before
    page = _acknowledged(link(message))
    assert 'data-next="ended"' in page and "此事件已结束（已撤销），此呼叫无需再处理。" in page


def test_the_duty_page_names_people_not_their_codes(demo: Any) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(User.objects.get(username="info-director"))
    page = text(client.get("/rosters/"))
    names = {p.name for p in demo.people}
    on_duty = re.findall(r'<strong class="oncall-now">([^<]*)</strong>', page)
    assert on_duty and set(on_duty) <= names
    assert not re.search(r"<td>(eng|info)-[a-z]+", page)
