"""Seed rules beyond a hospital-wide outage, acting as the plan says: regional faults get their
procedure by cause whatever the level (seed 004), a level-2 grade owes the deputy commander a
report within 10 minutes (seed 001), and checklist steps can name who answers for them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client

from yingji.accounts.models import User
from yingji.core import clock
from yingji.core.actors import CLI
from yingji.core.models import AuditEntry
from yingji.incidents import actions
from yingji.incidents.models import ChecklistItem, DowntimeMode, Incident
from yingji.notify.models import Message
from yingji.timers import service
from yingji.timers.models import Timer

from .conftest import RESTORE_CHECKS


def page_as(username: str, path: str) -> str:
    client = Client()
    client.force_login(User.objects.get(username=username))
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    return response.content.decode()


def regional(system: str = "HIS", department: str = "wards", **facts: Any) -> Incident:
    incident = actions.report_fault(CLI, system=system, symptom="三楼病区无法开医嘱", scope="area",
                                    department=department).incident
    if facts:
        actions.update_facts(CLI, incident, **facts)
    return Incident.objects.get(pk=incident.pk)


def raised(incident: Incident) -> list[dict[str, Any]]:
    return [e.data for e in AuditEntry.objects.filter(subject_id=incident.pk, action="scenario.raised")]


def test_a_regional_software_fault_calls_the_vendor_and_puts_the_area_on_paper_after_30_minutes(demo: Any) -> None:
    incident = regional(cause="software")
    clock.freeze(incident.reported_at + timedelta(minutes=20))  # within the merge window: the same incident
    actions.report_fault(CLI, system="HIS", symptom="收费窗口也卡住", scope="area", department="cashier")
    assert incident.fault_class == "II" and not incident.plan_active
    assert raised(incident) == []  # not yet: the plan gives the information center 30 minutes
    clock.freeze(incident.reported_at + timedelta(minutes=30, seconds=2))
    service.run_due()
    [started] = raised(incident)
    assert started["scenario"] == "regional-software" and started["automatic"] is True
    assert "his-vendor" in started["contacts"]  # the system's own vendor, from systems[].vendor
    modes = dict(DowntimeMode.objects.filter(incident=incident).values_list("department", "mode"))
    assert modes == {"cashier": "standalone", "wards": "manual"}  # charging stand-alone, the ward on paper
    # A department reporting later joins the paper mode; the cashier stays stand-alone.
    actions.report_fault(CLI, system="HIS", symptom="药房也不能发药", scope="area", department="outpatient-pharmacy")
    assert DowntimeMode.objects.get(incident=incident, department="outpatient-pharmacy").mode == "manual"
    html = page_as("info-director", f"/incidents/{incident.number}")
    assert "区域性故障（软件或数据库原因）" in html and "通知软件公司" in html
    assert "HIS 软件服务商" in html and "tel:4000000001" in html, html[html.find('id="departments"'):][:3000]
    assert "自动启动：区域性故障（软件或数据库原因）" in html  # the timeline says it started by itself


def test_a_regional_network_fault_says_borrow_computers_and_a_virus_cuts_the_area_off_at_once(demo: Any) -> None:
    network = regional(cause="network")
    clock.freeze(network.reported_at + timedelta(minutes=31))
    service.run_due()
    [started] = raised(network)
    assert started["scenario"] == "regional-network"
    assert not DowntimeMode.objects.filter(incident=network).exists()
    items = list(ChecklistItem.objects.filter(task__incident=network).values_list("text", flat=True))
    assert any("借用电脑" in text for text in items)

    virus = regional(system="LIS", department="medtech", security="virus")
    assert [d["scenario"] for d in raised(virus)] == ["regional-virus"]  # no waiting for a virus
    items = list(ChecklistItem.objects.filter(task__incident=virus).values_list("text", flat=True))
    assert items[0] == "立即物理切断故障区域与内网的连接。" and "隔离受影响区域" in items[1]
    assert not virus.plan_active


def test_a_fault_fixed_in_time_starts_no_regional_procedure(demo: Any) -> None:
    incident = regional(cause="database")
    engineer = User.objects.get(username="eng-duty")
    actions.perform(engineer, incident, "acknowledge")
    actions.perform(engineer, Incident.objects.get(pk=incident.pk), "restore", checks=RESTORE_CHECKS)
    clock.freeze(incident.reported_at + timedelta(minutes=40))
    service.run_due()
    assert raised(incident) == []


def test_level_2_asks_the_technical_leader_to_report_to_the_deputy_commander_within_10_minutes(demo: Any) -> None:
    clock.freeze(clock.now())
    incident = actions.report_fault(CLI, system="HIS", symptom="全院无法登录", scope="hospital").incident
    assert incident.response_level == "2"
    [page] = Message.objects.filter(incident=incident, kind="level_report")
    assert page.person == "info-director" and page.needs_ack
    assert "李卫东" in page.body and "10 分钟" in page.body and "灾备服务器" in page.body
    assert Message.objects.filter(incident=incident, kind="update", person="vp-info").exists()
    timer = Timer.objects.get(incident=incident, kind="report")
    assert timer.due_at == incident.reported_at + timedelta(minutes=10)
    clocks = page_as("info-director", f"/incidents/{incident.number}")
    assert "向指挥部报告" in clocks and "李卫东" in clocks

    actions.acknowledge_message(User.objects.get(username="info-director"), page, "web")
    timer.refresh_from_db()
    assert timer.state == Timer.State.MET
    assert AuditEntry.objects.filter(subject_id=incident.pk, action="incident.level_reported",
                                     data__level="2").exists()


def test_an_unmade_level_2_report_tells_the_deputy_commander_and_the_office(demo: Any) -> None:
    incident = actions.report_fault(CLI, system="HIS", symptom="全院无法登录", scope="hospital").incident
    clock.freeze(incident.reported_at + timedelta(minutes=10, seconds=1))
    service.run_due()
    told = set(Message.objects.filter(incident=incident, kind="breach").values_list("person", flat=True))
    assert {"vp-info", "info-director"} <= told
    assert AuditEntry.objects.filter(subject_id=incident.pk, action="timer.breached", data__deadline="report").exists()
    # Level 3 owes no report.
    local = actions.report_fault(CLI, system="APPT", symptom="预约慢").incident
    assert local.response_level == "3" and not Timer.objects.filter(incident=local, kind="report").exists()


def test_the_standby_equipment_step_names_its_owner_on_the_incident_and_plan_pages(demo: Any) -> None:
    incident = actions.report_fault(CLI, system="HIS", symptom="全院无法登录", scope="hospital").incident
    actions.perform(User.objects.get(username="dean"), incident, "activate")
    step = ChecklistItem.objects.get(task__incident=incident, task__department="info", text__contains="灾备服务器")
    assert step.owner == "info-director"
    html = page_as("info-director", f"/incidents/{incident.number}")
    assert f'class="owner">· {demo.person("info-director").name}' in html
    assert "· " + demo.person("info-director").name in page_as("info-director", "/plan")


def test_restored_only_once_the_engineer_confirms_each_check_the_plan_lists(demo: Any) -> None:
    """Seed 000: 进行全面的测试，确保系统已经完全恢复 — a check box each, on the page and in the API."""
    from yingji.core.errors import BadInput

    incident = actions.report_fault(CLI, system="LIS", symptom="报告打不出").incident
    engineer = User.objects.get(username="eng-duty")
    actions.perform(engineer, incident, "acknowledge")
    try:
        actions.perform(engineer, Incident.objects.get(pk=incident.pk), "restore", checks=[0, 2])
    except BadInput as exc:
        assert exc.field == "checks" and "从备份恢复数据" in exc.message and "全面的测试" not in exc.message
    else:
        raise AssertionError("restored with a check unconfirmed")
    html = page_as("eng-duty", f"/incidents/{incident.number}")
    assert html.count('name="checks"') == 3 and "已进行全面的测试" in html
    client = Client()
    client.force_login(engineer)
    client.post(f"/incidents/{incident.number}/action/restore", {"checks": ["0", "1", "2"]})
    assert Incident.objects.get(pk=incident.pk).status == "restored"
    [entry] = AuditEntry.objects.filter(subject_id=incident.pk, action="incident.restored")
    assert entry.data["checks"][0].startswith("已进行全面的测试")


def test_class_i_pages_the_whole_command_including_equipment_security_and_clinical_heads(demo: Any) -> None:
    incident = actions.report_fault(CLI, system="HIS", symptom="全院无法登录", scope="hospital").incident
    assert incident.fault_class == "I"
    paged = set(Message.objects.filter(incident=incident, kind="page").values_list("person", flat=True))
    assert {"equipment-head", "security-head", "emergency-head", "ward-lead"} <= paged


def test_acknowledging_the_incident_leaves_the_report_upward_owed_and_restore_cancels_its_clock(demo: Any) -> None:
    incident = actions.report_fault(CLI, system="HIS", symptom="全院无法登录", scope="hospital").incident
    director = User.objects.get(username="info-director")
    actions.perform(director, incident, "acknowledge")  # he takes the incident: his page is answered
    [report_page] = Message.objects.filter(incident=incident, kind="level_report")
    assert report_page.acked_at is None  # but the report to the deputy commander is still owed
    assert Message.objects.filter(incident=incident, kind="page", person="info-director",
                                  acked_at__isnull=False).exists()
    actions.perform(director, Incident.objects.get(pk=incident.pk), "restore", checks=RESTORE_CHECKS)
    assert Timer.objects.get(incident=incident, kind="report").state == Timer.State.CANCELLED


def test_correcting_the_named_fault_corrects_the_cause_it_gave_but_not_one_the_engineer_set(demo: Any) -> None:
    incident = regional(fault="switch")
    assert incident.cause == "network"
    actions.update_facts(CLI, incident, fault="local-db")
    assert Incident.objects.get(pk=incident.pk).cause == "database"
    actions.update_facts(CLI, Incident.objects.get(pk=incident.pk), cause="software")
    actions.update_facts(CLI, Incident.objects.get(pk=incident.pk), fault="switch")
    assert Incident.objects.get(pk=incident.pk).cause == "software"


def test_later_reports_from_a_department_already_on_paper_add_no_empty_mode_entries(demo: Any) -> None:
    incident = regional(cause="software")
    clock.freeze(incident.reported_at + timedelta(minutes=31))
    service.run_due()
    declared = AuditEntry.objects.filter(subject_id=incident.pk, action="mode.declared").count()
    for _ in range(3):
        actions.report_fault(CLI, system="HIS", symptom="还是不行", scope="area", department="wards")
    assert AuditEntry.objects.filter(subject_id=incident.pk, action="mode.declared").count() == declared


def test_tampered_data_starts_containment_at_once_and_owes_the_police_report(demo: Any) -> None:
    from yingji.reviews.models import RegulatoryReport

    incident = regional(system="HIS", security="tampering", fault="price-list")
    assert [d["scenario"] for d in raised(incident)] == ["tampering-content"]
    first = ChecklistItem.objects.filter(task__incident=incident).order_by("id").first()
    assert first is not None and first.text.startswith("关闭受影响的资源或服务")
    assert RegulatoryReport.objects.filter(incident=incident, kind="police").exists()


def test_a_grade_of_a_scheme_the_plan_does_not_have_is_refused_not_a_crash(demo: Any) -> None:
    import yaml

    from yingji.core.errors import BadInput
    from yingji.plans import actions as plan_actions
    from yingji.plans.loader import template_text
    from yingji.plans.store import forget_published

    data = yaml.safe_load(template_text("zh"))
    data["grading"].pop("scope_level")
    plan_actions.import_and_publish(CLI, yaml.safe_dump(data, allow_unicode=True), note="no reach levels")
    forget_published()
    incident = actions.report_fault(CLI, system="LIS", symptom="慢").incident
    try:
        actions.override_grade(CLI, incident, "scope_level", "major", "试")
    except BadInput as exc:
        assert exc.field == "scheme" and "scope_level" not in exc.message
    else:
        raise AssertionError("a scheme the plan lacks was set")


# -- the same rules with each hospital's own plan: nothing above may hold only for the demo --------


def test_each_plan_s_named_faults_level_report_and_restore_checks_act(hospital: Any) -> None:
    from yingji.core.errors import BadInput
    from yingji.oncall.targets import resolve

    plan = hospital.plan
    top = plan.grading.fault_class.grades[0]
    named = next(code for cond in top.when for code in (cond.faults or []))
    graded = hospital.report(fault=named, system=hospital.local)
    assert graded["grade"]["fault_class"] == top.code  # a named fault grades the class whatever its reach

    clock.freeze(clock.now())
    rule = next(a for a in plan.activation if a.report)
    incident = Incident.objects.get(pk=hospital.report(scope="hospital")["id"])
    assert incident.response_level == rule.level
    page = Message.objects.get(incident=incident, kind="level_report")
    assert page.person in resolve(plan, rule.report.by, clock.now())
    assert Timer.objects.get(incident=incident, kind="report").due_at == incident.reported_at + timedelta(
        seconds=rule.report.within)

    engineer = User.objects.get(username=hospital.engineer)
    actions.perform(engineer, incident, "acknowledge")
    checks = list(range(len(plan.recovery.restore_checks)))
    assert checks, "every plan under test lists its restore checks"
    try:
        actions.perform(engineer, Incident.objects.get(pk=incident.pk), "restore", checks=checks[1:])
    except BadInput as exc:
        assert exc.field == "checks"
    else:
        raise AssertionError("restored with a check left out")
    actions.perform(engineer, Incident.objects.get(pk=incident.pk), "restore", checks=checks)
    assert Incident.objects.get(pk=incident.pk).status == "restored"


def test_each_plan_s_automatic_procedure_starts_by_itself(hospital: Any) -> None:
    scenario = next(s for s in hospital.plan.scenarios if s.automatic)
    cond = scenario.applies_when[0]
    incident = Incident.objects.get(pk=hospital.report(scope=(cond.scope or ["area"])[0])["id"])
    facts = {key: getattr(cond, key)[0] for key in ("cause", "security") if getattr(cond, key)}
    actions.update_facts(CLI, incident, **facts)
    clock.freeze(incident.reported_at + timedelta(seconds=(cond.outage_over or 0) + 2))
    service.run_due()
    assert scenario.code in [d["scenario"] for d in raised(incident)]
