"""The pages around a downtime: declaring a mode by hand, the peak-hour prompt, and the
back-entry worklist (enter, verify, confirm, paper totals, sign-off, import) as plain forms.

The tests that take `hospital` run against every plan in tests/hospitals.py; the pages are read in
Chinese whatever the plan's language (the UI's words are Yingji's, the names are the plan's)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape
from typing import Any

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
from .hospitals import MONDAY, SATURDAY, Cast


def client_for(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(User.objects.get(username=username))
    return client


def outage(hospital: Cast | None = None) -> Incident:
    """A hospital-wide outage of the system whose loss starts the plan's downtime modes."""
    system = hospital.core if hospital else "HIS"
    return actions.report_fault(CLI, system=system, symptom="全院无法登录", scope="hospital").incident


def test_a_lead_declares_paper_mode_for_her_department_only_and_ends_it(hospital: Cast) -> None:
    clock.freeze(hospital.at(SATURDAY, 15))  # a Saturday afternoon: no peak
    incident = outage(hospital)
    department, other = hospital.standalone, hospital.paper
    lead = client_for(hospital.lead(department.code))
    page = lead.get(f"/incidents/{incident.number}")
    assert 'id="declare-mode"' in page.content.decode()
    lead.post(f"/incidents/{incident.number}/mode", {"department": department.code, "mode": "manual"})
    mode = DowntimeMode.objects.get(incident=incident)
    assert (mode.department, mode.mode, mode.declared_by, mode.ended_at) == (
        department.code, "manual", hospital.lead(department.code), None)
    board = SystemState.objects.get(code=hospital.core)  # the system is still down, since the outage began
    assert board.status == SystemState.Status.DOWN and board.since == incident.reported_at
    screen = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/screen").content.decode()
    tile = screen.split(f'data-system="{hospital.core}"')[1].split('data-system=')[0]
    assert "中断" in tile and f"{escape(department.name)}：手工（纸质）" in tile
    dashboard = client_for(hospital.clerk(department.code)).get("/").content.decode()
    assert f'data-entry="{department.code}"' in dashboard and "手工登记" in dashboard

    refused = lead.post(f"/incidents/{incident.number}/mode", {"department": other.code, "mode": "manual"},
                        follow=True)
    assert "您只能代表本科室操作" in refused.content.decode()
    assert not DowntimeMode.objects.filter(department=other.code).exists()
    assert not AuditEntry.objects.filter(action="peak.prompted").exists()

    lead.post(f"/incidents/{incident.number}/mode", {"department": department.code, "end": "1"})
    assert DowntimeMode.objects.get(incident=incident).ended_at is not None
    assert SystemState.objects.get(code=hospital.core).status == SystemState.Status.DOWN
    assert AuditEntry.objects.filter(action="mode.ended", subject_id=incident.pk).count() == 1


def test_at_peak_hours_the_office_is_told_once_to_redeploy_staff(hospital: Cast) -> None:
    peak = hospital.plan.peak_hours
    assert peak is not None
    clock.freeze(hospital.at(MONDAY, peak.start.hour, 40))  # Monday, 40 minutes into the peak
    incident = outage(hospital)
    actions.declare_mode(CLI, incident, "standalone", [hospital.standalone.code])
    actions.declare_mode(CLI, incident, "manual", [hospital.paper.code])
    prompts = Message.objects.filter(incident=incident, kind=Message.Kind.UPDATE, body__contains=peak.instruction)
    office = hospital.plan.organization.office
    assert sorted(prompts.values_list("person", flat=True)) == sorted([office.leader, *office.deputies])
    assert AuditEntry.objects.filter(action="peak.prompted").count() == 1

    clock.freeze(hospital.at(MONDAY, peak.end.hour, peak.end.minute))  # the window ends at its end
    later = outage(hospital)
    actions.declare_mode(CLI, later, "manual", [hospital.standalone.code])
    assert not Message.objects.filter(incident=later, body__contains=peak.instruction).exists()


def test_back_entry_through_the_worklist_forms_until_signed_off(hospital: Cast) -> None:
    plan = hospital.plan
    incident = outage(hospital)
    department = hospital.standalone.code
    kind, insurance = hospital.charge_kind(), plan.recovery.insurance[0].code
    clerk = client_for(hospital.clerk(department))
    at = (clock.now() - timedelta(minutes=20)).astimezone(hospital.zone).strftime("%Y-%m-%d %H:%M")
    for serial, insured in (("MZ-1", insurance), ("MZ-2", "")):
        response = clerk.post(f"/incidents/{incident.number}/entry",
                              {"kind": kind, "card_no": "620001", "paper_serial": serial, "occurred_at": at,
                               "amount": "10.00", "insurance": insured})
        assert response.status_code == 302, response.content.decode()
    bad = clerk.post(f"/incidents/{incident.number}/entry", {"kind": kind, "card_no": "620001",
                                                             "paper_serial": "MZ-3", "occurred_at": at})
    assert bad.status_code == 400 and 'data-error="amount"' in bad.content.decode()

    upload = clerk.post(f"/incidents/{incident.number}/records/import", {"file": _csv(at, kind, department)},
                        follow=True)
    page = upload.content.decode()
    assert "已导入 1 条记录，1 处行错误" in page and 'id="rejected"' in page
    assert ManualRecord.objects.filter(incident=incident).count() == 3

    for step in ("acknowledge", "restore"):
        actions.perform(CLI, incident, step, checks=RESTORE_CHECKS)
    worklist = f"/incidents/{incident.number}/records"
    system = plan.backentry_system(kind).code
    for record in ManualRecord.objects.filter(incident=incident):
        page = clerk.get(worklist).content.decode()
        row = page.split(f'data-record="{record.pk}"')[1].split("data-record=")[0]
        assert page.count(" autofocus") == 1 and " autofocus" in row  # the cursor waits in this row's id box
        assert f'placeholder="{system} 单号"' in row  # named by the system the record goes back into
        entered = clerk.post(f"/records/{record.pk}/enter", {"his_id": f"ID-{record.pk}", "next": worklist})
        assert entered.status_code == 302 and entered["Location"] == worklist
    assert f"已录入 {system}" in clerk.get(worklist + "?state=all").content.decode()
    elsewhere = clerk.post(f"/records/{record.pk}/verify", {"next": "https://evil.example/"})
    assert elsewhere["Location"] == worklist  # `next` only ever leads back into this site
    refused = clerk.post(f"/records/{record.pk}/verify", {"next": worklist}, follow=True)
    assert "您的角色无权执行此操作" in refused.content.decode()

    lead = client_for(hospital.lead(department))
    for record in ManualRecord.objects.filter(incident=incident):
        lead.post(f"/records/{record.pk}/verify")
        lead.post(f"/records/{record.pk}/confirm")
    assert set(ManualRecord.objects.filter(incident=incident).values_list("state", flat=True)) == {"confirmed"}
    assert 'data-unsettled="1"' in lead.get(worklist).content.decode()  # the 医保 backlog
    client_for(hospital.settler()).post(f"/records/{ManualRecord.objects.get(paper_serial='MZ-1').pk}/settle")
    assert ManualRecord.objects.get(paper_serial="MZ-1").insurance_state == "resettled"
    lead.post(f"/incidents/{incident.number}/reconciliation/{department}",
              {"expected_count": "3", "expected_amount": "25.00"})
    page = lead.get(worklist).content.decode()
    assert "已平账" in page
    assert 'data-sign="lead"' in page and 'data-sign="finance"' not in page  # finance is another department
    lead.post(f"/incidents/{incident.number}/reconciliation/{department}", {"as": "lead"})
    finance = client_for(hospital.finance)
    assert 'data-sign="finance"' in finance.get(worklist).content.decode()
    finance.post(f"/incidents/{incident.number}/reconciliation/{department}", {"as": "finance"})
    rec = Reconciliation.objects.get(incident=incident, department=department)
    assert rec.signed_off and (rec.lead_signed_by, rec.finance_signed_by) == (hospital.lead(department),
                                                                              hospital.finance)
    assert AuditEntry.objects.filter(action="backentry.completed", subject_id=incident.pk).exists()


def _csv(at: str, kind: str = "charge", department: str = "cashier") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = ("kind,department,card_no,paper_serial,occurred_at,amount\n"
            f"{kind},{department},620002,MZ-9,{at},5.00\n"
            f"{kind},{department},620003,MZ-10,{at},abc\n")
    return SimpleUploadedFile("log.csv", body.encode("utf-8"), content_type="text/csv")


def test_one_click_scenario_plan(hospital: Cast) -> None:
    """医保网络故障 (or the claims gateway): one click shows the bulletin on every screen, starts the
    scenario's checklist, pages its duty chain with the outside contacts' numbers, and restore
    lowers the bulletin."""
    scenario = hospital.scenario
    engineer = client_for(hospital.engineer)
    dashboard = engineer.get("/").content.decode()
    assert f'data-scenario="{scenario.code}"' in dashboard

    response = engineer.post(f"/scenarios/{scenario.code}/raise")
    incident = Incident.objects.get(system=hospital.scenario_system(scenario))
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.number}"
    assert incident.tasks.get(scenario=scenario.code).items.count() == len(list(scenario.checklist.items()))
    chain = Message.objects.filter(incident=incident, kind=Message.Kind.ACTIVATION)
    assert chain.exists() and all(m.needs_ack for m in chain)
    centers = [hospital.plan.contact(code) for code in scenario.contacts]
    assert all(f"{c.name} {c.phone}" in chain.first().body for c in centers)  # type: ignore[union-attr]
    assert not incident.regulatory_reports.exists()  # a network failure owes no report to the authorities

    for page in (client_for(hospital.reporter).get("/report"), Client().get("/screen")):
        assert scenario.bulletin in page.content.decode()
    board = engineer.get("/").content.decode()
    assert all(c.phone in board for c in centers)  # type: ignore[union-attr, operator]

    again = engineer.post(f"/incidents/{incident.number}/scenario", {"scenario": scenario.code}, follow=True)
    assert "已在执行" in again.content.decode()
    assert Message.objects.filter(incident=incident, kind=Message.Kind.ACTIVATION).count() == chain.count()

    for step in ("acknowledge", "restore"):
        actions.perform(CLI, incident, step, checks=RESTORE_CHECKS)
    assert scenario.bulletin not in Client().get("/screen").content.decode()
    assert AuditEntry.objects.filter(action="bulletin.lowered", subject_id=incident.pk).exists()


def test_every_step_of_a_downtime_reads_as_a_sentence_on_the_timeline(hospital: Cast) -> None:
    """The incident timeline never shows a raw action code for what these pages do."""
    department = hospital.standalone.code
    incident = outage(hospital)
    actions.declare_mode(CLI, incident, "manual", [department])
    actions.end_mode(CLI, incident, department)
    actions.raise_scenario(CLI, incident, hospital.scenario.code)
    review_actions.preserve_evidence(CLI, incident, "log", "防火墙日志", "日志服务器")
    at = (clock.now() - timedelta(minutes=5)).isoformat()
    recovery_actions.add_record(CLI, incident, {"kind": hospital.charge_kind(), "department": department,
                                                "card_no": "1", "paper_serial": "S-1", "occurred_at": at,
                                                "amount": "1.00"})
    recovery_actions.set_expected(CLI, incident, department, 1, None)
    for step in ("acknowledge", "restore"):
        actions.perform(CLI, incident, step, checks=RESTORE_CHECKS)
    review_actions.save_review(CLI, incident, cause="交换机")
    done = review_actions.add_corrective_action(CLI, incident, "更换", hospital.engineer, clock.now().date())
    review_actions.finish_corrective_action(CLI, done)
    plan = plan_of(incident.plan_version_id)
    entries = AuditEntry.objects.filter(subject_type="incident", subject_id=incident.pk).exclude(action__in=QUIET)
    assert [e.action for e in entries if describe(e, plan).text == e.action] == []
    assert {"mode.ended", "scenario.raised", "bulletin.lowered", "evidence.preserved", "reconciliation.expected",
            "review.saved", "corrective.added", "corrective.done"} <= {e.action for e in entries}


def test_the_department_checklists_mark_the_phase_that_is_due_now(hospital: Cast) -> None:
    clock.freeze(hospital.at(SATURDAY, 15))
    department = hospital.standalone.code
    assert hospital.plan.procedure_for(department) is not None
    incident = outage(hospital)
    actions.perform(CLI, incident, "acknowledge")
    actions.activate(CLI, Incident.objects.get(pk=incident.pk))
    lead = client_for(hospital.lead(department))

    def now_marked() -> list[str]:
        page = lead.get(f"/incidents/{incident.number}").content.decode()
        return re.findall(r'data-phase="(\w+)">[^<]*</strong> <span class="pill activated">现在</span>', page)

    assert set(now_marked()) == {"on_activation"}
    actions.declare_mode(CLI, incident, "manual", [department])
    assert set(now_marked()) == {"during"}
    actions.perform(CLI, Incident.objects.get(pk=incident.pk), "restore", checks=RESTORE_CHECKS)
    assert set(now_marked()) == {"after_recovery"}


def test_an_ended_incident_takes_no_new_mode_or_scenario(hospital: Cast) -> None:
    incident = outage(hospital)
    for step in ("acknowledge", "restore"):
        actions.perform(CLI, incident, step, checks=RESTORE_CHECKS)
    with pytest.raises(InvalidTransition):
        actions.declare_mode(CLI, incident, "manual", [hospital.standalone.code])
    with pytest.raises(InvalidTransition):
        actions.raise_scenario(CLI, incident, hospital.scenario.code)
    assert not DowntimeMode.objects.filter(incident=incident).exists()
    assert not incident.bulletins.exists()  # type: ignore[attr-defined]


def test_an_incident_closes_only_after_its_back_entry_is_signed_off(hospital: Cast) -> None:
    department = hospital.standalone
    incident = outage(hospital)
    at = (clock.now() - timedelta(minutes=5)).isoformat()
    record = recovery_actions.add_record(CLI, incident, {
        "kind": hospital.charge_kind(), "department": department.code, "card_no": "1", "paper_serial": "S-1",
        "occurred_at": at, "amount": "1.00"})
    for step in ("acknowledge", "restore"):
        actions.perform(CLI, incident, step, checks=RESTORE_CHECKS)
    with pytest.raises(InvalidTransition) as refused:
        actions.perform(CLI, Incident.objects.get(pk=incident.pk), "close")
    assert refused.value.details["unsigned"] == [department.code] and department.name in refused.value.message
    for step in ("enter", "verify", "confirm"):
        recovery_actions.advance(CLI, record, step, his_id="ID-1")
    recovery_actions.set_expected(CLI, incident, department.code, 1, None)
    for as_ in ("lead", "finance"):
        recovery_actions.sign_off(CLI, incident, department.code, as_)
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


def test_cancelling_a_scenario_s_incident_takes_its_bulletin_down_everywhere(hospital: Cast) -> None:
    incident = outage(hospital)
    scenario = hospital.scenario
    actions.raise_scenario(CLI, incident, scenario.code)
    assert scenario.bulletin and scenario.bulletin in Client().get("/screen").content.decode()
    actions.perform(CLI, Incident.objects.get(pk=incident.pk), "cancel", reason="误报：前置机正常")
    assert scenario.bulletin not in Client().get("/screen").content.decode()
    assert scenario.bulletin not in client_for(hospital.reporter).get("/").content.decode()
    lowered = AuditEntry.objects.get(action="bulletin.lowered", subject_id=incident.pk)
    assert lowered.data["on"] == "cancel"


def test_a_closed_incident_shows_nothing_to_press_and_nobody_still_waited_for(hospital: Cast) -> None:
    incident = outage(hospital)
    actions.perform(CLI, incident, "acknowledge")
    actions.perform(CLI, Incident.objects.get(pk=incident.pk), "activate")
    for step in ("stand_down", "restore", "close"):
        actions.perform(CLI, Incident.objects.get(pk=incident.pk), step, checks=RESTORE_CHECKS)
    page = client_for(hospital.lead(hospital.standalone.code)).get(f"/incidents/{incident.number}").content.decode()
    assert "data-action=" not in page and "data-item=" not in page and "data-ack=" not in page
    assert "未确认（应于" not in page and "等待" not in page
    assert "未在事件结束前确认" in page
    item = ChecklistItem.objects.filter(task__incident=incident).first()
    with pytest.raises(InvalidTransition):
        actions.tick(CLI, item)


def test_the_board_shows_a_most_severe_outage_as_down_with_its_real_duration(hospital: Cast) -> None:
    """Reported as one area's fault, then found to be ransomware (or set to the most severe level by
    hand): the tile turns from degraded to down, and its clock still counts from the first report."""
    incident = actions.report_fault(CLI, system=hospital.core, symptom="无法登录", location="门诊",
                                    scope="area").incident
    assert SystemState.objects.get(code=hospital.core).status == SystemState.Status.DEGRADED
    clock.advance(timedelta(minutes=20))
    actions.update_facts(CLI, Incident.objects.get(pk=incident.pk), security="ransomware")
    row = Incident.objects.get(pk=incident.pk)
    board = SystemState.objects.get(code=hospital.core)
    assert row.fault_class == hospital.classes()[0]
    assert (board.status, board.since) == (SystemState.Status.DOWN, row.reported_at)

    other = actions.report_fault(CLI, system=hospital.local, symptom="打印失败", location="检验科",
                                 scope="area").incident
    actions.override_grade(client_user(hospital.office), other, "response_level", hospital.levels()[0], "省平台通报")
    assert SystemState.objects.get(code=hospital.local).status == SystemState.Status.DOWN


def client_user(username: str) -> User:
    return User.objects.get(username=username)
