"""The worker merges stored reports a batch at a time: the reports that only join an incident the
batch already knows are written together, everything else is merged alone, in arrival order. The
result must be exactly what merging them one by one gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from yingji.core import audit, clock
from yingji.core.actors import CLI
from yingji.core.models import AuditEntry
from yingji.incidents import actions
from yingji.incidents.models import DowntimeMode, Incident, Report
from yingji.timers import service


def stored(system: str = "HIS", **fields: Any) -> Report:
    """A report accepted as the form and the API accept it: stored, not merged."""
    return actions.accept_report(CLI, system=system, symptom=fields.pop("symptom", "无法进入程序"), **fields)


def merged_in_one_batch() -> int:
    """One run of the worker's step, with time enough that the batch ends only when the reports do
    (opening an incident alone can take longer than the step's budget)."""
    return actions.merge_pending(budget_s=60)


def timeline(incident: Incident) -> list[tuple[str, Any]]:
    return [(e.action, e.data.get("report") or e.data.get("after"))
            for e in AuditEntry.objects.filter(subject_type="incident", subject_id=incident.pk).order_by("id")
            if e.action in ("report.received", "incident.graded")]


def test_a_batch_of_reports_on_two_systems_merges_as_one_by_one_would(demo: Any) -> None:
    his = [stored("HIS", location=f"门诊{n}诊室") for n in range(5)]
    lis = [stored("LIS", location=f"检验科{n}号窗") for n in range(4)]
    clock.advance(timedelta(seconds=5))
    his.append(stored("HIS", location="急诊抢救室"))
    assert merged_in_one_batch() == 10
    [his_incident] = Incident.objects.filter(system="HIS")
    [lis_incident] = Incident.objects.filter(system="LIS")
    assert (his_incident.reports_count, lis_incident.reports_count) == (6, 4)
    assert his_incident.last_report_at == his[-1].reported_at  # the window slides with the last one
    for reports, incident in ((his, his_incident), (lis, lis_incident)):
        rows = Report.objects.filter(pk__in=[r.pk for r in reports]).order_by("id")
        assert [(r.incident_id, r.joined) for r in rows] == [(incident.pk, n > 0) for n in range(len(reports))]
        received = [number for action, number in timeline(incident) if action == "report.received"]
        assert received == [r.number for r in reports]  # every report on the timeline, in arrival order
    merged = [e.data["merged"] for e in AuditEntry.objects.filter(action="report.received").order_by("id")]
    assert merged.count(False) == 2 and merged.count(True) == 8
    assert audit.verify().ok


def test_a_report_that_widens_the_incident_regrades_it_in_the_middle_of_a_batch(demo: Any) -> None:
    first, second = stored(), stored()
    wider = stored(scope="hospital", patients_affected=80)
    after = [stored() for _ in range(3)]
    assert merged_in_one_batch() == 6
    incident = Incident.objects.get()
    assert (incident.scope, incident.patients_affected, incident.fault_class, incident.response_level) == (
        "hospital", 80, "I", "2")
    assert incident.reports_count == 6
    steps = timeline(incident)
    graded_at = [n for n, (action, _after) in enumerate(steps) if action == "incident.graded"]
    received = {number: n for n, (action, number) in enumerate(steps) if action == "report.received"}
    # Graded on opening, then again by the widening report (its grading is told before its
    # arrival, as when merged alone), and not by the plain ones after it.
    assert any(received[second.number] < g < received[wider.number] for g in graded_at)
    assert not any(g > received[wider.number] for g in graded_at)
    assert received[first.number] < received[second.number] < received[wider.number] < received[after[-1].number]
    assert audit.verify().ok


def test_reports_beyond_the_merge_window_of_the_batch_open_a_new_incident(demo: Any) -> None:
    early = stored()
    clock.advance(timedelta(seconds=demo.intake.merge_window + 1))
    late = [stored(), stored()]
    assert merged_in_one_batch() == 3
    early.refresh_from_db()
    rows = Report.objects.filter(pk__in=[r.pk for r in late])
    assert {r.incident_id for r in rows} != {early.incident_id}
    assert Incident.objects.count() == 2 and {r.joined for r in rows} == {False, True}


def test_departments_reporting_together_each_join_the_paper_mode(demo: Any) -> None:
    """Seed 004: a department reporting later joins the reporting departments' mode; a batch of
    reports from several departments puts each of them in it, once."""
    incident = actions.report_fault(CLI, system="HIS", symptom="三楼病区无法开医嘱", scope="area",
                                    department="wards").incident
    actions.update_facts(CLI, incident, cause="software")
    clock.freeze(incident.reported_at + timedelta(minutes=20))  # keeps the incident in the merge window
    actions.report_fault(CLI, system="HIS", symptom="收费窗口也卡住", scope="area", department="cashier")
    clock.freeze(incident.reported_at + timedelta(minutes=30, seconds=2))
    service.run_due()
    assert DowntimeMode.objects.filter(incident=incident, department="wards").exists()
    for department in ("outpatient-pharmacy", "medtech", "outpatient-pharmacy"):
        stored(scope="area", department=department, symptom="也不能用")
    assert merged_in_one_batch() == 3
    modes = dict(DowntimeMode.objects.filter(incident=incident).values_list("department", "mode"))
    assert modes["outpatient-pharmacy"] == "manual" and modes["medtech"] == "manual"
    assert DowntimeMode.objects.filter(incident=incident, department="outpatient-pharmacy").count() == 1
    assert Incident.objects.get(pk=incident.pk).reports_count == 5


def test_when_the_joined_write_fails_each_report_is_merged_alone(demo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    reports = [stored() for _ in range(4)]

    def broken(*args: Any, **kwargs: Any) -> int:
        raise ValueError("simulated fault in the joined write")

    monkeypatch.setattr(audit, "append_many", broken)
    assert merged_in_one_batch() == 4
    incident = Incident.objects.get()
    assert incident.reports_count == 4
    assert set(Report.objects.values_list("incident_id", "merge_error")) == {(incident.pk, "")}
    assert [n for action, n in timeline(incident) if action == "report.received"] == [r.number for r in reports]
    assert audit.verify().ok


def test_a_report_that_could_not_be_merged_is_listed_and_can_be_passed_on_again(
        demo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.test import Client

    from yingji.accounts.models import User

    def broken(report: Report) -> Any:
        raise ValueError("simulated fault of this report")

    monkeypatch.setattr(actions, "_merge", broken)
    stuck = stored("LIS", location="检验科2号窗", phone="8123")
    assert merged_in_one_batch() == 1
    stuck.refresh_from_db()
    assert stuck.incident is None and "simulated fault" in stuck.merge_error

    def incident_list(login: str) -> str:
        client = Client()
        client.force_login(User.objects.get(username=login))
        return client.get("/incidents/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    office = incident_list("info-director")
    listed = office[office.index('id="stuck-reports"'):].split("</section>", 1)[0]
    assert "1 条报告未能转交" in listed and stuck.number in listed and "实验室信息系统" in listed
    assert 'href="tel:8123"' in listed and "重新转交" in listed
    assert "ValueError" not in listed  # the fault's own words are for the log, not for the office
    assert 'id="stuck-reports"' in incident_list("eng-duty")
    assert 'id="stuck-reports"' not in incident_list("nurse-wang")

    nurse = Client()
    nurse.force_login(User.objects.get(username="nurse-wang"))
    nurse.post(f"/reports/{stuck.number}/retry")
    stuck.refresh_from_db()
    assert stuck.merge_error  # a reporter may not send it on

    monkeypatch.undo()  # the fault is fixed
    office_client = Client()
    office_client.force_login(User.objects.get(username="info-director"))
    assert office_client.post(f"/reports/{stuck.number}/retry").status_code == 302
    [entry] = AuditEntry.objects.filter(action="report.retried")
    assert entry.actor == "info-director" and entry.data["report"] == stuck.number
    assert merged_in_one_batch() == 1
    stuck.refresh_from_db()
    assert stuck.incident is not None and stuck.incident.system == "LIS"
    assert 'id="stuck-reports"' not in incident_list("info-director")
    assert audit.verify().ok
