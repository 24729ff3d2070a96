"""Grading: the plan's rules against the facts, re-evaluated as facts and elapsed time change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from yingji.core import clock
from yingji.core.models import AuditEntry
from yingji.incidents.models import Incident
from yingji.timers import service
from yingji.timers.models import Timer

from .conftest import RESTORED, report


def grade_log(incident_id: int) -> list[dict[str, Any]]:
    return [e.data for e in AuditEntry.objects.filter(subject_id=incident_id, action="incident.graded").order_by("id")]


def test_ransomware_is_class_i_level_1_and_category_mprans(api: Any) -> None:
    incident = report(api("nurse-wang"))
    response = api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    assert response.status_code == 200
    from yingji.incidents import actions

    actions.update_facts(actions.WORKER, Incident.objects.get(pk=incident["id"]), security="ransomware",
                         cause="security")
    grades = api("eng-duty").get(f"/incidents/{incident['id']}").json()["grade"]
    assert (grades["fault_class"], grades["response_level"], grades["category"]) == ("I", "1", "MPRANS")


def test_lis_affecting_more_than_50_patients_is_level_2_with_its_rule_recorded(api: Any) -> None:
    incident = report(api("nurse-wang"), system="LIS", patients_affected=51)
    assert incident["grade"]["response_level"] == "2"
    [level] = [d for d in grade_log(incident["id"]) if d["scheme"] == "response_level"]
    assert level["condition"] == {"systems": ["LIS"], "patients_over": 50}
    assert level["why"] == "reported"


def test_elapsed_time_upgrades_levels_through_the_worker(api: Any) -> None:
    """30 min unfixed → level 2; 4 h → duration level III; 12 h → II; 24 h → I; a hospital-wide core
    outage over 2 h → level 1. Each change is on the timeline with the rule and elapsed time."""
    incident = report(api("nurse-wang"), scope="hospital")
    assert incident["grade"]["response_level"] == "2"  # hospital-wide is level 2 from the start
    # Activated in time, so the 30-minute fix deadline does not raise the level: only the rules do.
    api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    assert api("dean").post(f"/incidents/{incident['id']}/activate").status_code == 200
    checkpoints = [(timedelta(hours=2, seconds=1), "response_level", "1"),
                   (timedelta(hours=4, seconds=1), "duration_level", "III"),
                   (timedelta(hours=12, seconds=1), "duration_level", "II"),
                   (timedelta(hours=24, seconds=1), "duration_level", "I")]
    start = Incident.objects.get(pk=incident["id"]).reported_at
    for elapsed, scheme, expected in checkpoints:
        clock.freeze(start + elapsed - timedelta(seconds=2))
        service.run_due()
        assert getattr(Incident.objects.get(pk=incident["id"]), scheme) != expected
        clock.freeze(start + elapsed)
        assert service.run_due() == 1
        assert getattr(Incident.objects.get(pk=incident["id"]), scheme) == expected
    changes = [(d["scheme"], d["after"], d["why"]) for d in grade_log(incident["id"])]
    assert ("duration_level", "I", "elapsed") in changes
    assert ("response_level", "1", "elapsed") in changes
    assert all(d["outage_s"] > 0 for d in grade_log(incident["id"]) if d["why"] == "elapsed")


def test_restoring_stops_the_clock_and_cancels_the_regrade_timer(api: Any) -> None:
    incident = report(api("nurse-wang"))
    engineer = api("eng-duty")
    engineer.post(f"/incidents/{incident['id']}/acknowledge")
    engineer.post(f"/incidents/{incident['id']}/restore", RESTORED)
    assert not Timer.objects.filter(incident_id=incident["id"], state="pending").exists()
    clock.advance(timedelta(days=2))
    assert service.run_due() == 0
    assert Incident.objects.get(pk=incident["id"]).duration_level == "IV"


def test_the_office_overrides_a_grade_with_a_reason_and_rules_no_longer_touch_it(api: Any) -> None:
    incident = report(api("nurse-wang"))
    office = api("info-director")
    from yingji.incidents import actions

    row = Incident.objects.get(pk=incident["id"])
    actions.override_grade(office.user, row, "national_grade", "relatively_major", "省平台核定为较大")
    row.refresh_from_db()
    assert row.national_grade == "relatively_major"
    assert row.grade_overrides["national_grade"]["by"] == "info-director"
    actions.update_facts(office.user, row, scope="hospital")
    row.refresh_from_db()
    assert row.national_grade == "relatively_major" and row.fault_class == "I"
    entry = AuditEntry.objects.get(subject_id=row.pk, action="incident.grade_overridden")
    assert entry.data["reason"] == "省平台核定为较大"


def test_an_override_needs_the_office_and_a_reason(api: Any) -> None:
    from yingji.core.errors import BadInput, Forbidden
    from yingji.incidents import actions

    row = Incident.objects.get(pk=report(api("nurse-wang"))["id"])
    for user, reason, error in ((api("eng-duty").user, "x", Forbidden), (api("info-director").user, "", BadInput)):
        try:
            actions.override_grade(user, row, "response_level", "1", reason)
        except error:
            continue
        raise AssertionError(f"expected {error.__name__}")


def test_the_fix_deadline_raises_level_3_only_and_never_makes_level_1(api: Any) -> None:
    """The 30-minute rule is plan data (timers.fix_escalation): 3 → 2, and nothing for a level-2
    incident, whose level 1 can only come from the plan's own conditions (core down over 2 h)."""
    small = report(api("nurse-wang"))
    wide = report(api("nurse-wang"), system="LIS", scope="hospital")
    assert (small["grade"]["response_level"], wide["grade"]["response_level"]) == ("3", "2")
    clock.advance(timedelta(minutes=30, seconds=1))
    service.run_due()
    small_now, wide_now = Incident.objects.get(pk=small["id"]), Incident.objects.get(pk=wide["id"])
    assert (small_now.response_level, small_now.fault_class) == ("2", small["grade"]["fault_class"])
    assert (wide_now.response_level, wide_now.fault_class) == ("2", wide["grade"]["fault_class"])
    assert wide_now.raised == {}
    told = AuditEntry.objects.filter(subject_id=wide["id"], action="timer.breached", data__deadline="fix")
    assert told.exists()  # the director is still told that it was not fixed in time


def test_a_plan_without_fix_escalation_raises_nothing(api: Any) -> None:
    from yingji.core.actors import CLI
    from yingji.plans import actions as plan_actions
    from yingji.plans.loader import template_text
    from yingji.plans.store import forget_published

    rule = '  fix_escalation:\n    - {scheme: response_level, grade: "3", raise_to: "2"}\n'
    text = template_text("zh").replace(rule, "")
    assert "fix_escalation" not in text.split("timers:")[1].split("notifications:")[0]
    plan_actions.import_and_publish(CLI, text, note="no fix escalation")
    forget_published()  # publishing forgets it on commit; a test's transaction never commits
    incident = report(api("nurse-wang"))
    clock.advance(timedelta(minutes=30, seconds=1))
    service.run_due()
    # The deadline passed and the director was told, but it raised nothing (the plan's own grading
    # rules may still move the level with the elapsed time: that is the rules, not the deadline).
    assert Incident.objects.get(pk=incident["id"]).raised == {}
    assert AuditEntry.objects.filter(subject_id=incident["id"], action="timer.breached", data__deadline="fix").exists()
    assert not AuditEntry.objects.filter(subject_id=incident["id"], action="incident.escalated").exists()


def test_the_plan_says_which_scopes_start_the_mode_clocks(api: Any) -> None:
    """Seed 004: the stand-alone and paper clocks run for an overall fault; the shipped plans say
    `scopes: [hospital]`, so part of HIS down starts none, and a plan may name other scopes."""
    partial = report(api("nurse-wang"), scope="partial")
    assert not Timer.objects.filter(incident_id=partial["id"], kind="mode").exists()
    wide = report(api("nurse-wang"), system="NET", scope="hospital")
    assert Timer.objects.filter(incident_id=wide["id"], kind="mode").count() == 2

    from yingji.core.actors import CLI
    from yingji.plans import actions as plan_actions
    from yingji.plans.loader import template_text
    from yingji.plans.store import forget_published

    plan_actions.import_and_publish(CLI, template_text("zh").replace("scopes: [hospital]", "scopes: [area, partial]"),
                                    note="regional clocks")
    forget_published()
    area = report(api("nurse-wang"), system="DB", scope="area")
    assert Timer.objects.filter(incident_id=area["id"], kind="mode").count() == 2


def test_a_named_fault_grades_by_cause_and_the_grade_says_which_rule(api: Any, client: Any) -> None:
    """Seeds 002 and 004: a deleted or modified price list is class I even on one workstation; its
    cause (software) is set with it, and the incident page says which rule matched, by name."""
    incident = report(api("nurse-wang"), fault="price-list")
    assert incident["grade"]["fault_class"] == "I"
    detail = api("eng-duty").get(f"/incidents/{incident['id']}").json()
    assert (detail["fault"], detail["cause"], detail["scope"]) == ("price-list", "software", "terminal")
    [rule] = [d for d in grade_log(incident["id"]) if d["scheme"] == "fault_class"]
    assert rule["condition"]["faults"][0] == "server-down" and "price-list" in rule["condition"]["faults"]
    from yingji.accounts.models import User

    client.force_login(User.objects.get(username="eng-duty"))
    page = client.get(f"/incidents/{detail['number']}").content.decode()
    assert "故障：" in page and "价表被删除或修改" in page


def test_the_facts_form_names_a_local_fault_and_an_unknown_one_is_refused(api: Any) -> None:
    from yingji.core.errors import BadInput
    from yingji.incidents import actions

    incident = report(api("nurse-wang"))
    assert incident["grade"]["fault_class"] == "III"
    row = Incident.objects.get(pk=incident["id"])
    actions.update_facts(actions.WORKER, row, fault="local-db")
    row.refresh_from_db()
    assert (row.fault_class, row.cause) == ("II", "database")
    try:
        actions.update_facts(actions.WORKER, row, fault="price-lists")
    except BadInput as exc:
        assert exc.field == "fault" and "price-list" in exc.message
    else:
        raise AssertionError("an unknown fault was accepted")
    bad = api("nurse-wang").post("/incidents", {"system": "HIS", "symptom": "x", "fault": "nope"})
    assert bad.status_code == 400 and bad.json()["field"] == "fault"


def test_seed_000_reach_levels_and_eight_kinds_are_graded_beside_the_category(api: Any) -> None:
    from yingji.incidents import actions

    incident = report(api("nurse-wang"), scope="hospital")
    assert incident["grade"]["scope_level"] == "especially_major"  # the core HIS totally paralysed
    partial = report(api("nurse-wang"), system="LIS", scope="partial")
    assert partial["grade"]["scope_level"] == "relatively_major"
    row = Incident.objects.get(pk=partial["id"])
    actions.update_facts(actions.WORKER, row, cause="network")
    assert Incident.objects.get(pk=row.pk).event_type == "network_fault"
    actions.update_facts(actions.WORKER, row, security="tampering")
    row.refresh_from_db()
    assert (row.event_type, row.category) == ("info_destruction", "DSTAMPER")


def test_a_condition_naming_an_unknown_fault_is_an_error_with_its_line() -> None:
    import pytest

    from yingji.plans.loader import PlanInvalid, parse_plan, template_text

    text = template_text("zh").replace("faults: [switch, local-db", "faults: [swich, local-db", 1)
    with pytest.raises(PlanInvalid) as raised:
        parse_plan(text)
    [error] = raised.value.errors
    assert "unknown fault 'swich'" in error.message and error.path.startswith("grading.fault_class.grades[1].when")
    assert text.splitlines()[error.line - 1].strip().startswith("- {faults: [swich")
