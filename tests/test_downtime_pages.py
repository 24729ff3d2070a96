"""The pages around a downtime: declaring a mode by hand, the peak-hour prompt, and the
back-entry worklist (enter, verify, confirm, paper totals, sign-off, import) as plain forms."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from yingji.accounts.models import User
from yingji.core import clock
from yingji.core.actors import CLI
from yingji.core.errors import InvalidTransition
from yingji.core.models import AuditEntry
from yingji.incidents import actions
from yingji.incidents.models import ChecklistItem, DowntimeMode, Incident, SystemState
from yingji.notify.models import Message
from yingji.plans.store import plan_of
from yingji.recovery import actions as recovery_actions
from yingji.recovery.models import ManualRecord, Reconciliation, TempRange
from yingji.reviews import actions as review_actions
from yingji.web.timeline import QUIET, describe

from .conftest import RESTORE_CHECKS

SHANGHAI = ZoneInfo("Asia/Shanghai")


def client_for(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(User.objects.get(username=username))
    return client


def outage() -> Incident:
    return actions.report_fault(CLI, system="HIS", symptom="HIS 全院无法登录", scope="hospital").incident


def test_a_lead_declares_paper_mode_for_her_department_only_and_ends_it(demo: Any) -> None:
    clock.freeze(datetime(2026, 11, 21, 15, 0, tzinfo=SHANGHAI))  # a Saturday afternoon: no peak
    incident = outage()
    lead = client_for("cashier-head")
    page = lead.get(f"/incidents/{incident.number}")
    assert 'id="declare-mode"' in page.content.decode()
    lead.post(f"/incidents/{incident.number}/mode", {"department": "cashier", "mode": "manual"})
    mode = DowntimeMode.objects.get(incident=incident)
    assert (mode.department, mode.mode, mode.declared_by, mode.ended_at) == ("cashier", "manual", "cashier-head", None)
    board = SystemState.objects.get(code="HIS")  # the system is still down, since the outage began
    assert board.status == SystemState.Status.DOWN and board.since == incident.reported_at
    tile = Client().get("/screen").content.decode().split('data-system="HIS"')[1].split('data-system=')[0]
    assert "中断" in tile and "收费科：手工（纸质）" in tile
    dashboard = client_for("cashier-li").get("/").content.decode()
    assert 'data-entry="cashier"' in dashboard and "手工登记" in dashboard

    refused = lead.post(f"/incidents/{incident.number}/mode", {"department": "wards", "mode": "manual"}, follow=True)
    assert "您只能代表本科室操作" in refused.content.decode()
    assert not DowntimeMode.objects.filter(department="wards").exists()
    assert not AuditEntry.objects.filter(action="peak.prompted").exists()

    lead.post(f"/incidents/{incident.number}/mode", {"department": "cashier", "end": "1"})
    assert DowntimeMode.objects.get(incident=incident).ended_at is not None
    assert SystemState.objects.get(code="HIS").status == SystemState.Status.DOWN
    assert AuditEntry.objects.filter(action="mode.ended", subject_id=incident.pk).count() == 1


def test_at_peak_hours_the_office_is_told_once_to_redeploy_staff(demo: Any) -> None:
    clock.freeze(datetime(2026, 11, 23, 9, 40, tzinfo=SHANGHAI))  # Monday 9:40
    incident = outage()
    actions.declare_mode(CLI, incident, "standalone", ["cashier"])
    actions.declare_mode(CLI, incident, "manual", ["wards"])
    prompts = Message.objects.filter(incident=incident, kind=Message.Kind.UPDATE, body__contains="业务高峰期")
    office = demo.organization.office
    assert sorted(prompts.values_list("person", flat=True)) == sorted([office.leader, *office.deputies])
    assert AuditEntry.objects.filter(action="peak.prompted").count() == 1

    clock.freeze(datetime(2026, 11, 23, 11, 0, tzinfo=SHANGHAI))  # the window ends at 11:00
    later = outage()
    actions.declare_mode(CLI, later, "manual", ["cashier"])
    assert not Message.objects.filter(incident=later, body__contains="业务高峰期").exists()


def test_back_entry_through_the_worklist_forms_until_signed_off(demo: Any) -> None:
    incident = outage()
    clerk = client_for("cashier-li")
    at = (clock.now() - timedelta(minutes=20)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    for serial, insurance in (("MZ-1", "employee"), ("MZ-2", "")):
        response = clerk.post(f"/incidents/{incident.number}/entry",
                              {"kind": "charge", "card_no": "620001", "paper_serial": serial, "occurred_at": at,
                               "amount": "10.00", "insurance": insurance})
        assert response.status_code == 302
    bad = clerk.post(f"/incidents/{incident.number}/entry", {"kind": "charge", "card_no": "620001",
                                                             "paper_serial": "MZ-3", "occurred_at": at})
    assert bad.status_code == 400 and 'data-error="amount"' in bad.content.decode()

    upload = clerk.post(f"/incidents/{incident.number}/records/import", {"file": _csv(at)}, follow=True)
    page = upload.content.decode()
    assert "已导入 1 条记录，1 处行错误" in page and 'id="rejected"' in page
    assert ManualRecord.objects.filter(incident=incident).count() == 3

    for step in ("acknowledge", "restore"):
        actions.perform(CLI, incident, step, checks=RESTORE_CHECKS)
    worklist = f"/incidents/{incident.number}/records"
    for record in ManualRecord.objects.filter(incident=incident):
        page = clerk.get(worklist).content.decode()
        row = page.split(f'data-record="{record.pk}"')[1].split("data-record=")[0]
        assert page.count(" autofocus") == 1 and " autofocus" in row  # the cursor waits in this row's HIS id box
        entered = clerk.post(f"/records/{record.pk}/enter", {"his_id": f"HIS-{record.pk}", "next": worklist})
        assert entered.status_code == 302 and entered["Location"] == worklist
    elsewhere = clerk.post(f"/records/{record.pk}/verify", {"next": "https://evil.example/"})
    assert elsewhere["Location"] == worklist  # `next` only ever leads back into this site
    refused = clerk.post(f"/records/{record.pk}/verify", {"next": worklist}, follow=True)
    assert "您的角色无权执行此操作" in refused.content.decode()

    lead = client_for("cashier-head")
    for record in ManualRecord.objects.filter(incident=incident):
        lead.post(f"/records/{record.pk}/verify")
        lead.post(f"/records/{record.pk}/confirm")
    assert set(ManualRecord.objects.filter(incident=incident).values_list("state", flat=True)) == {"confirmed"}
    assert 'data-unsettled="1"' in lead.get(worklist).content.decode()  # the 医保 backlog
    lead.post(f"/records/{ManualRecord.objects.get(paper_serial='MZ-1').pk}/settle")
    assert ManualRecord.objects.get(paper_serial="MZ-1").insurance_state == "resettled"
    lead.post(f"/incidents/{incident.number}/reconciliation/cashier",
              {"expected_count": "3", "expected_amount": "25.00"})
    page = lead.get(worklist).content.decode()
    assert "已平账" in page
    assert 'data-sign="lead"' in page and 'data-sign="finance"' not in page  # finance is another department
    lead.post(f"/incidents/{incident.number}/reconciliation/cashier", {"as": "lead"})
    finance = client_for("finance-head")
    assert 'data-sign="finance"' in finance.get(worklist).content.decode()
    finance.post(f"/incidents/{incident.number}/reconciliation/cashier", {"as": "finance"})
    rec = Reconciliation.objects.get(incident=incident, department="cashier")
    assert rec.signed_off and (rec.lead_signed_by, rec.finance_signed_by) == ("cashier-head", "finance-head")
    assert AuditEntry.objects.filter(action="backentry.completed", subject_id=incident.pk).exists()


def _csv(at: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = ("kind,department,card_no,paper_serial,occurred_at,amount\n"
            f"charge,cashier,620002,MZ-9,{at},5.00\n"
            f"charge,cashier,620003,MZ-10,{at},abc\n")
    return SimpleUploadedFile("log.csv", body.encode("utf-8"), content_type="text/csv")


def test_one_click_insurance_network_failure(demo: Any) -> None:
    """医保网络故障: one click shows the bulletin on every screen, starts the scenario's checklist,
    pages its duty chain with the insurance centers' numbers, and restore lowers the bulletin."""
    scenario = demo.scenario("insurance-network")
    engineer = client_for("eng-duty")
    dashboard = engineer.get("/").content.decode()
    assert 'data-scenario="insurance-network"' in dashboard

    response = engineer.post("/scenarios/insurance-network/raise")
    incident = Incident.objects.get(system="INS")
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.number}"
    assert incident.tasks.get(scenario="insurance-network").items.count() == len(list(scenario.checklist.items()))
    chain = Message.objects.filter(incident=incident, kind=Message.Kind.ACTIVATION)
    assert chain.exists() and all(m.needs_ack for m in chain)
    centers = [demo.contact(code) for code in scenario.contacts]
    assert all(f"{c.name} {c.phone}" in chain.first().body for c in centers)
    assert not incident.regulatory_reports.exists()  # a network failure owes no report to the authorities

    for page in (client_for("nurse-wang").get("/report"), Client().get("/screen")):
        assert scenario.bulletin in page.content.decode()
    board = engineer.get("/").content.decode()
    assert all(c.phone in board for c in centers)

    again = engineer.post(f"/incidents/{incident.number}/scenario", {"scenario": "insurance-network"}, follow=True)
    assert "已在执行" in again.content.decode()
    assert Message.objects.filter(incident=incident, kind=Message.Kind.ACTIVATION).count() == chain.count()

    for step in ("acknowledge", "restore"):
        actions.perform(CLI, incident, step, checks=RESTORE_CHECKS)
    assert scenario.bulletin not in Client().get("/screen").content.decode()
    assert AuditEntry.objects.filter(action="bulletin.lowered", subject_id=incident.pk).exists()


def test_every_step_of_a_downtime_reads_as_a_sentence_on_the_timeline(demo: Any) -> None:
    """The incident timeline never shows a raw action code for what these pages do."""
    incident = outage()
    actions.declare_mode(CLI, incident, "manual", ["cashier"])
    actions.end_mode(CLI, incident, "cashier")
    actions.raise_scenario(CLI, incident, "insurance-network")
    review_actions.preserve_evidence(CLI, incident, "log", "防火墙日志", "日志服务器")
    at = (clock.now() - timedelta(minutes=5)).isoformat()
    recovery_actions.add_record(CLI, incident, {"kind": "charge", "department": "cashier", "card_no": "1",
                                                "paper_serial": "S-1", "occurred_at": at, "amount": "1.00"})
    recovery_actions.set_expected(CLI, incident, "cashier", 1, None)
    for step in ("acknowledge", "restore"):
        actions.perform(CLI, incident, step, checks=RESTORE_CHECKS)
    review_actions.save_review(CLI, incident, cause="交换机")
    done = review_actions.add_corrective_action(CLI, incident, "更换", "eng-net", clock.now().date())
    review_actions.finish_corrective_action(CLI, done)
    plan = plan_of(incident.plan_version_id)
    entries = AuditEntry.objects.filter(subject_type="incident", subject_id=incident.pk).exclude(action__in=QUIET)
    assert [e.action for e in entries if describe(e, plan).text == e.action] == []
    assert {"mode.ended", "scenario.raised", "bulletin.lowered", "evidence.preserved", "reconciliation.expected",
            "review.saved", "corrective.added", "corrective.done"} <= {e.action for e in entries}


def test_the_department_checklists_mark_the_phase_that_is_due_now(demo: Any) -> None:
    clock.freeze(datetime(2026, 11, 21, 15, 0, tzinfo=SHANGHAI))
    incident = outage()
    actions.perform(CLI, incident, "acknowledge")
    actions.activate(CLI, Incident.objects.get(pk=incident.pk))
    lead = client_for("cashier-head")

    def now_marked() -> list[str]:
        page = lead.get(f"/incidents/{incident.number}").content.decode()
        return re.findall(r'data-phase="(\w+)">[^<]*</strong> <span class="pill activated">现在</span>', page)

    assert set(now_marked()) == {"on_activation"}
    actions.declare_mode(CLI, incident, "manual", ["cashier"])
    assert set(now_marked()) == {"during"}
    actions.perform(CLI, Incident.objects.get(pk=incident.pk), "restore", checks=RESTORE_CHECKS)
    assert set(now_marked()) == {"after_recovery"}


def test_an_ended_incident_takes_no_new_mode_or_scenario(demo: Any) -> None:
    incident = outage()
    for step in ("acknowledge", "restore"):
        actions.perform(CLI, incident, step, checks=RESTORE_CHECKS)
    with pytest.raises(InvalidTransition):
        actions.declare_mode(CLI, incident, "manual", ["cashier"])
    with pytest.raises(InvalidTransition):
        actions.raise_scenario(CLI, incident, "insurance-network")
    assert not DowntimeMode.objects.filter(incident=incident).exists()
    assert not incident.bulletins.exists()  # type: ignore[attr-defined]


def test_an_incident_closes_only_after_its_back_entry_is_signed_off(demo: Any) -> None:
    incident = outage()
    at = (clock.now() - timedelta(minutes=5)).isoformat()
    record = recovery_actions.add_record(CLI, incident, {"kind": "charge", "department": "cashier", "card_no": "1",
                                                         "paper_serial": "S-1", "occurred_at": at, "amount": "1.00"})
    for step in ("acknowledge", "restore"):
        actions.perform(CLI, incident, step, checks=RESTORE_CHECKS)
    with pytest.raises(InvalidTransition) as refused:
        actions.perform(CLI, Incident.objects.get(pk=incident.pk), "close")
    assert refused.value.details["unsigned"] == ["cashier"] and "收费科" in refused.value.message
    for step in ("enter", "verify", "confirm"):
        recovery_actions.advance(CLI, record, step, his_id="HIS-1")
    recovery_actions.set_expected(CLI, incident, "cashier", 1, None)
    for as_ in ("lead", "finance"):
        recovery_actions.sign_off(CLI, incident, "cashier", as_)
    closed = actions.perform(CLI, Incident.objects.get(pk=incident.pk), "close")
    assert closed.status == Incident.Status.CLOSED


def test_the_office_reserves_temporary_numbers_on_a_page(demo: Any) -> None:
    office = client_for("info-director")
    page = office.get("/temp-ranges").content.decode()
    assert "MZLS000001" in page and 'id="reserve-form"' in page  # the demo's cashier range
    office.post("/temp-ranges", {"department": "wards", "prefix": "ZYBQ", "first": "1", "last": "500", "width": "4"})
    block = TempRange.objects.get(prefix="ZYBQ")
    assert (block.department, block.number(block.first), block.reserved_by) == ("wards", "ZYBQ0001", "info-director")
    overlap = office.post("/temp-ranges", {"department": "medtech", "prefix": "ZYBQ", "first": "400", "last": "900"})
    assert f"与已为 {demo.department('wards').name} 预留的号段重叠" in overlap.content.decode()
    assert TempRange.objects.filter(prefix="ZYBQ").count() == 1

    nurse = client_for("nurse-wang")
    assert 'id="reserve-form"' not in nurse.get("/temp-ranges").content.decode()
    nurse.post("/temp-ranges", {"department": "wards", "prefix": "X", "first": "1", "last": "2"})
    assert not TempRange.objects.filter(prefix="X").exists()


def test_cancelling_a_scenario_s_incident_takes_its_bulletin_down_everywhere(demo: Any) -> None:
    incident = outage()
    actions.raise_scenario(CLI, incident, "insurance-network")
    bulletin = demo.scenario("insurance-network").bulletin
    assert bulletin in Client().get("/screen").content.decode()
    actions.perform(CLI, Incident.objects.get(pk=incident.pk), "cancel", reason="误报：医保前置机正常")
    assert bulletin not in Client().get("/screen").content.decode()
    assert bulletin not in client_for("nurse-wang").get("/").content.decode()
    lowered = AuditEntry.objects.get(action="bulletin.lowered", subject_id=incident.pk)
    assert lowered.data["on"] == "cancel"


def test_a_closed_incident_shows_nothing_to_press_and_nobody_still_waited_for(demo: Any) -> None:
    incident = outage()
    actions.perform(CLI, incident, "acknowledge")
    actions.perform(CLI, Incident.objects.get(pk=incident.pk), "activate")
    for step in ("stand_down", "restore", "close"):
        actions.perform(CLI, Incident.objects.get(pk=incident.pk), step, checks=RESTORE_CHECKS)
    page = client_for("cashier-head").get(f"/incidents/{incident.number}").content.decode()
    assert "data-action=" not in page and "data-item=" not in page and "data-ack=" not in page
    assert "未确认（应于" not in page and "等待" not in page
    assert "未在事件结束前确认" in page
    item = ChecklistItem.objects.filter(task__incident=incident).first()
    with pytest.raises(InvalidTransition):
        actions.tick(CLI, item)


def test_the_board_shows_a_level_1_outage_as_down_with_its_real_duration(demo: Any) -> None:
    """Reported as one area's fault, then found to be ransomware (or set to level 1 by hand): the
    tile turns from degraded to down, and its clock still counts from the first report."""
    incident = actions.report_fault(CLI, system="HIS", symptom="无法登录", location="门诊", scope="area").incident
    assert SystemState.objects.get(code="HIS").status == SystemState.Status.DEGRADED
    clock.advance(timedelta(minutes=20))
    actions.update_facts(CLI, Incident.objects.get(pk=incident.pk), security="ransomware")
    row = Incident.objects.get(pk=incident.pk)
    board = SystemState.objects.get(code="HIS")
    assert row.fault_class == "I" and (board.status, board.since) == (SystemState.Status.DOWN, row.reported_at)

    other = actions.report_fault(CLI, system="LIS", symptom="打印失败", location="检验科", scope="area").incident
    actions.override_grade(client_user("info-director"), other, "response_level", "1", "省平台通报")
    assert SystemState.objects.get(code="LIS").status == SystemState.Status.DOWN


def client_user(username: str) -> User:
    return User.objects.get(username=username)
