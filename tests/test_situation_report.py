"""The report on the situation to the leading group (seed 000): five contents drafted from what
Yingji knows, corrected by the engineer, sent to the leading group, numbered, on the chain."""

from __future__ import annotations

from datetime import timedelta
from html import unescape
from typing import Any

from django.test import Client

from yingji.accounts.models import User
from yingji.core import clock
from yingji.core.actors import CLI
from yingji.core.errors import BadInput, Forbidden
from yingji.core.models import AuditEntry
from yingji.incidents import actions
from yingji.incidents.models import Incident
from yingji.notify.models import Message
from yingji.plans.store import plan_of
from yingji.reviews import actions as review_actions
from yingji.reviews import situation_report
from yingji.reviews.models import SituationReport


def signed_in(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(User.objects.get(username=username))
    return client


def outage() -> Incident:
    incident = actions.report_fault(CLI, system="HIS", symptom="全院无法登录", location="门诊一楼",
                                    department="cashier", scope="hospital", patients_affected=120).incident
    actions.update_facts(CLI, incident, cause="database")
    return Incident.objects.get(pk=incident.pk)


def test_the_draft_says_the_five_contents_from_what_yingji_knows(demo: Any) -> None:
    incident = outage()
    clock.freeze(incident.reported_at + timedelta(minutes=40))
    from yingji.timers import service

    service.run_due()  # 30 minutes: the cashier is stand-alone by now
    draft = situation_report.draft(Incident.objects.get(pk=incident.pk), plan_of(incident.plan_version_id))
    assert "门诊一楼" in draft["source"] and "收费科" in draft["source"] and "1 " in draft["source"]
    assert "医院信息系统（HIS）" in draft["scope"] and "120" in draft["scope"] and "单机" in draft["scope"]
    assert "一类故障" in draft["nature"] and "二级事件" in draft["nature"] and "数据库" in draft["nature"]
    assert "40" in draft["trend"] and "尚未恢复" in draft["trend"]
    assert "工程师" in draft["measures"]


def test_the_engineer_sends_it_to_the_leading_group_and_a_follow_up_is_numbered_2(demo: Any) -> None:
    incident = outage()
    engineer = signed_in("eng-duty")
    page = unescape(engineer.get(f"/incidents/{incident.number}").content.decode())
    assert 'id="situation-form"' in page and "信息来源" in page and "拟采取的措施" in page
    draft = situation_report.draft(incident, plan_of(incident.plan_version_id))
    engineer.post(f"/incidents/{incident.number}/situation-report",
                  {**draft, "measures": draft["measures"] + "切换至灾备服务器。"})
    [report] = SituationReport.objects.filter(incident=incident)
    assert report.number == 1 and report.measures.endswith("切换至灾备服务器。") and report.sent_by == "eng-duty"
    leading = set(report.recipients)
    assert {"dean", "vp-info", "equipment-head"} <= leading
    [message] = Message.objects.filter(incident=incident, person="dean", kind="update",
                                       subject__contains="情况报告")
    assert "影响范围：" in message.body and "切换至灾备服务器。" in message.body
    entry = AuditEntry.objects.get(subject_id=incident.pk, action="situation.reported")
    assert entry.data["number"] == 1 and entry.data["measures"] == report.measures
    again = unescape(engineer.get(f"/incidents/{incident.number}").content.decode())
    assert "第 1 次报告" in again and "续报" in again and "已向领导小组报告情况（第 1 次）" in again

    review_actions.send_situation_report(User.objects.get(username="info-director"), incident,
                                         {**draft, "measures": "继续排查；准备启动一级响应。"})
    assert list(SituationReport.objects.filter(incident=incident).values_list("number", flat=True)) == [1, 2]


def test_each_content_is_required_bounded_and_only_the_technical_side_and_command_send(demo: Any) -> None:
    incident = outage()
    draft = situation_report.draft(incident, plan_of(incident.plan_version_id))
    engineer = User.objects.get(username="eng-duty")
    for field, value in (("trend", "  "), ("scope", "字" * 2001), ("measures", draft["measures"])):
        try:
            review_actions.send_situation_report(engineer, incident, {**draft, field: value})
        except BadInput as exc:
            assert exc.field == field
        else:
            raise AssertionError(f"{field} {len(value)} accepted")
    try:
        review_actions.send_situation_report(User.objects.get(username="nurse-wang"), incident, draft)
    except Forbidden:
        pass
    else:
        raise AssertionError("a reporter sent the situation report")
    assert not SituationReport.objects.exists()
    page = signed_in("nurse-wang").get(f"/incidents/{incident.number}").content.decode()
    assert 'id="situation-form"' not in page


def test_an_ended_incident_sends_no_more_situation_reports(demo: Any) -> None:
    from yingji.core.errors import InvalidTransition

    incident = actions.report_fault(CLI, system="LIS", symptom="报告打不出").incident
    actions.perform(CLI, incident, "cancel", reason="误报")
    draft = {**situation_report.draft(incident, plan_of(incident.plan_version_id)), "measures": "无"}
    try:
        review_actions.send_situation_report(User.objects.get(username="eng-duty"), incident, draft)
    except InvalidTransition:
        pass
    else:
        raise AssertionError("a cancelled incident was reported to the leading group")
