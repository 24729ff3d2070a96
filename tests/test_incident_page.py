"""The incident page tells each person what is happening and what they must do, in the first minute:
the summary header with the next deadline and who answers for it, "what you must do now", the
hand-off to the commander when only he may activate, pages that say they are escalations, "my
pages" with its badge, and one loud banner per channel nobody could be reached on."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.test import Client

from yingji.accounts.models import User
from yingji.core import clock
from yingji.core.actors import CLI
from yingji.incidents import actions
from yingji.incidents.models import Incident
from yingji.notify.models import Message
from yingji.timers import service

pytestmark = pytest.mark.django_db


def page_as(username: str, path: str) -> str:
    client = Client()
    client.force_login(User.objects.get(username=username))
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    return unescape(response.content.decode())


def section(html: str, element_id: str) -> str:
    """The text of the element with this id (up to its closing tag of the same name), tags removed."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>', html)
    assert match, f"no #{element_id}"
    tag, start = match[1], match.start()
    depth, position = 0, start
    for found in re.finditer(rf"<(/?){tag}\b[^>]*>", html[start:]):
        depth += -1 if found[1] else 1
        if depth == 0:
            position = start + found.end()
            break
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[start:position])).strip()


def outage() -> Incident:
    """A hospital-wide HIS outage: class I, response level 2, which only the commander activates."""
    incident = actions.report_fault(CLI, system="HIS", symptom="全院无法登录", location="门诊一楼",
                                    scope="hospital").incident
    assert (incident.fault_class, incident.response_level) == ("I", "2")
    return incident


def test_the_header_names_the_next_deadline_and_who_answers_for_it(demo: Any) -> None:
    incident = outage()
    html = page_as("info-director", f"/incidents/{incident.number}")
    summary = section(html, "summary")
    assert "一类故障" in summary and "二级事件" in summary
    assert "尚无人接手" in section(html, "lead")
    deadline = section(html, "next-deadline")
    assert "确认收到呼叫" in deadline  # the first deadline: somebody acknowledges the page
    assert "张伟" in deadline  # the director was paged with the on-call engineer, so he answers for it
    assert "等待院长 王建国 或 分管信息副院长 李卫东启动二级事件（较大故障）应急响应" in section(html, "handoff")


def test_what_to_do_now_differs_by_who_looks(demo: Any) -> None:
    incident = outage()
    director = section(page_as("info-director", f"/incidents/{incident.number}"), "do-now")
    assert "确认" in director and "已到场" in director
    # The director sees why there is no activate button for him, and that the commander was paged.
    assert "只能由院长 王建国 或 分管信息副院长 李卫东启动" in director and "已于" in director
    assert "启动应急预案（" not in director
    dean = page_as("dean", f"/incidents/{incident.number}")
    todo = section(dean, "confirm-activate")
    assert "启动应急预案（二级事件（较大故障））" in todo
    assert "收费科" in todo and "门诊部" in todo  # what activating will do: the departments tasked
    assert "呼叫" in todo and "10 分钟" in todo
    nurse = section(page_as("nurse-wang", f"/incidents/{incident.number}"), "do-now")
    assert "没有需要您处理的事项" in nurse


def test_the_commanders_are_paged_when_the_level_rises_to_theirs(demo: Any) -> None:
    incident = actions.report_fault(CLI, system="HIS", symptom="无法登录", location="门诊二楼").incident
    assert incident.response_level == "3"  # the office may activate level 3: nobody is asked
    assert not Message.objects.filter(incident=incident, kind=Message.Kind.ACTIVATION_REQUEST).exists()
    actions.update_facts(User.objects.get(username="eng-duty"), incident, scope="hospital")
    asked = Message.objects.filter(incident=incident, kind=Message.Kind.ACTIVATION_REQUEST)
    assert sorted(asked.values_list("person", flat=True)) == ["dean", "vp-info"]
    assert all(m.needs_ack for m in asked)
    body = asked.first().body  # type: ignore[union-attr]
    assert "二级事件" in body and "院长 王建国" in body and "/ack/" in body
    actions.update_facts(User.objects.get(username="eng-duty"), incident, patients_affected=30)
    assert asked.count() == 2  # once per level, not on every re-grade


def test_an_escalation_page_says_it_is_one(demo: Any) -> None:
    incident = actions.report_fault(CLI, system="HIS", symptom="无法登录", location="门诊二楼").incident
    clock.advance(timedelta(minutes=5, seconds=1))
    service.run_due()
    escalated = Message.objects.get(incident=incident, kind=Message.Kind.ESCALATION)
    assert escalated.subject.startswith("【升级】")
    assert "5 分钟内无人确认，已升级至您" in escalated.body
    html = page_as(escalated.person, f"/incidents/{incident.number}")
    assert "无人按时确认，已于" in section(html, "do-now")
    pages = page_as(escalated.person, "/pages")
    assert "已升级至您" in section(pages, "pages")


def test_my_pages_lists_them_with_a_badge_and_one_button(demo: Any) -> None:
    incident = outage()
    html = page_as("dean", "/")
    assert section(html, "pages-badge") == "2"  # the class-I page and the request to activate
    pages = page_as("dean", "/pages")
    assert incident.number in section(pages, "pages") and "需启动预案" in section(pages, "pages")
    client = Client()
    client.force_login(User.objects.get(username="dean"))
    first = Message.objects.filter(incident=incident, person="dean").order_by("id").first()
    assert first is not None
    assert client.post(f"/pages/{first.pk}/ack", {"next": "/pages"}).status_code == 302
    first.refresh_from_db()
    assert first.acked_at is not None and first.acked_via == "web"
    assert section(page_as("dean", "/"), "pages-badge") == "1"
    # Someone else's page cannot be acknowledged by a commander who was not paged with it.
    other = Message.objects.filter(incident=incident, person="eng-sys").first()
    assert other is not None
    client.post(f"/pages/{other.pk}/ack")
    other.refresh_from_db()
    assert other.acked_at is None


def test_a_channel_nobody_could_be_reached_on_is_one_red_banner(demo: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("YINGJI_SMS_URL", raising=False)
    incident = outage()
    html = page_as("info-director", f"/incidents/{incident.number}")
    banners = re.findall(r'<div class="banner red delivery-problem" data-channel="(\w+)"[^>]*>([^<]+)</div>', html)
    assert dict(banners)["sms"] == "短信无法通知任何人：该渠道未配置（请设置 YINGJI_SMS_URL）。"
    assert len([c for c, _ in banners if c == "sms"]) == 1  # once, however many people were paged
    dashboard = page_as("info-director", "/")
    assert "短信无法通知任何人" in dashboard


def test_department_deadlines_are_grouped_with_the_viewer_s_own_first(demo: Any) -> None:
    incident = outage()
    actions.perform(User.objects.get(username="dean"), incident, "activate")
    html = page_as("cashier-head", f"/incidents/{incident.number}")
    clocks = section(html, "clocks")
    own = re.search(r'<table class="cards">.*?</table>', html[html.index('id="clocks"'):], re.S)
    assert own and 'data-department="cashier"' in own[0]  # the cashier's own row, not folded away
    assert 'data-department="medtech"' not in own[0]
    assert re.search(r"11 个科室确认启动：11 个待确认，0 个已确认，0 个超时", clocks)
    assert "科室确认启动 · 收费科" in section(html, "next-deadline")  # hers, not the soonest of all
    assert "褚红" in section(html, "next-deadline")
    todo = section(html, "do-now")
    assert "收费科：请确认启动" in todo and "代表收费科确认" in todo


def test_an_ended_incident_has_nothing_to_do(demo: Any) -> None:
    incident = outage()
    actions.cancel(User.objects.get(username="info-director"), incident, "误报")
    html = page_as("info-director", f"/incidents/{incident.number}")
    assert "此事件已结束" in section(html, "do-now")
    assert "next-deadline" not in html and 'data-action="' not in html


def test_the_dean_acknowledging_his_class_i_page_does_not_take_the_incident(demo: Any) -> None:
    """His page says he has read it; the engineers' chain goes on and he is not made its lead."""
    incident = outage()
    page = Message.objects.filter(incident=incident, person="dean", kind=Message.Kind.PAGE).get()
    actions.acknowledge_message(User.objects.get(username="dean"), page, "web")
    incident.refresh_from_db()
    assert incident.status == "reported"
    html = page_as("info-director", f"/incidents/{incident.number}")
    assert "尚无人接手" in section(html, "lead")
    assert "王建国" not in section(html, "next-deadline")  # the commanders do not answer for the page


def test_an_active_plan_is_raised_when_the_level_rises_without_standing_down(demo: Any) -> None:
    incident = actions.report_fault(CLI, system="HIS", symptom="无法登录", location="门诊二楼").incident
    office = User.objects.get(username="info-director")
    actions.perform(office, incident, "activate")  # level 3: the office may
    incident.refresh_from_db()
    assert (incident.activation_level, incident.tasks.count()) == ("3", 2)  # type: ignore[attr-defined]
    actions.update_facts(User.objects.get(username="eng-duty"), incident, scope="hospital")  # now level 2
    assert Message.objects.filter(incident=incident, kind=Message.Kind.ACTIVATION_REQUEST).count() == 2
    assert "等待院长 王建国" in section(page_as("info-director", f"/incidents/{incident.number}"), "handoff")
    dean = page_as("dean", f"/incidents/{incident.number}")
    assert "已按三级事件（一般故障）启动的预案提升为二级事件（较大故障）" in section(dean, "confirm-activate")
    actions.perform(User.objects.get(username="dean"), incident, "activate")
    incident.refresh_from_db()
    assert (incident.activation_level, incident.tasks.count()) == ("2", 12)  # type: ignore[attr-defined]
    # The requests are answered by activating: the dean's badge goes out, the wait is over.
    assert "pages-badge" not in page_as("dean", "/")
    assert 'id="handoff"' not in page_as("info-director", f"/incidents/{incident.number}")
    with pytest.raises(actions.InvalidTransition):
        actions.perform(User.objects.get(username="dean"), incident, "activate")  # not twice at one level


def test_a_stood_down_plan_does_not_wait_for_activation_again(demo: Any) -> None:
    incident = outage()
    dean = User.objects.get(username="dean")
    actions.perform(dean, incident, "activate")
    actions.perform(dean, incident, "stand_down")
    html = page_as("info-director", f"/incidents/{incident.number}")
    assert 'id="handoff"' not in html and "已于" in section(html, "plan-state")


def test_the_request_to_activate_is_sent_once_per_level(demo: Any) -> None:
    incident = outage()
    office = User.objects.get(username="info-director")
    asked = Message.objects.filter(incident=incident, kind=Message.Kind.ACTIVATION_REQUEST)
    assert asked.count() == 2
    actions.override_grade(office, incident, "response_level", "1", "全院瘫痪")
    assert asked.count() == 4  # level 1 is a new decision
    actions.override_grade(office, incident, "response_level", "", "交还规则")  # back to level 2
    incident.refresh_from_db()
    assert incident.response_level == "2" and asked.count() == 4  # level 2 was asked already
