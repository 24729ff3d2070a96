"""Activation creates each department's checklist from the plan; leads tick and acknowledge.

Each test runs against every plan in tests/hospitals.py: the shipped ones and the second hospital's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from yingji.accounts.models import User
from yingji.core.errors import Forbidden, InvalidTransition
from yingji.incidents import actions
from yingji.incidents.models import ChecklistItem, DepartmentTask, Incident

from .hospitals import Cast


@pytest.fixture
def activated(hospital: Cast) -> Incident:
    incident = hospital.report(scope="hospital")
    hospital.api(hospital.engineer).post(f"/incidents/{incident['id']}/acknowledge")
    response = hospital.api(hospital.commander).post(f"/incidents/{incident['id']}/activate")
    assert response.status_code == 200, response.json()
    return Incident.objects.get(pk=incident["id"])


def tasked_with_checklists(hospital: Cast, incident: Incident) -> list[str]:
    """The departments the activation tasked that have a procedure in the plan and a head who is a
    department lead (not the information center, whose head is the office), in plan order."""
    rule = hospital.plan.activation_for(incident.activation_level)
    assert rule is not None and rule.departments != "all"
    return [code for code in rule.departments if hospital.plan.procedure_for(code)
            and (d := hospital.plan.department(code)) and d.lead
            and (lead := hospital.plan.person(d.lead)) and lead.role == "department_lead"]


def test_activation_creates_the_level_s_departments_and_their_checklists(activated: Incident,
                                                                         hospital: Cast) -> None:
    plan = hospital.plan
    rule = plan.activation_for(activated.activation_level)
    departments = set(DepartmentTask.objects.filter(incident=activated, scenario="").values_list("department",
                                                                                                  flat=True))
    assert departments == set(rule.departments)  # type: ignore[union-attr, arg-type]
    code = tasked_with_checklists(hospital, activated)[0]
    task = DepartmentTask.objects.get(incident=activated, department=code)
    texts = list(task.items.values_list("phase", "text"))
    plan_items = [(item.phase, item.text) for item in plan.procedure_for(code).checklist.items()]  # type: ignore[union-attr]
    assert texts == plan_items and texts
    assert task.ack_due_at == activated.activated_at + timedelta(seconds=plan.timers.department_ack)


def test_a_department_lead_ticks_items_of_their_own_department_only(activated: Incident, hospital: Cast) -> None:
    mine, theirs = tasked_with_checklists(hospital, activated)[:2]
    assert hospital.lead(mine) != hospital.lead(theirs)
    my_item = ChecklistItem.objects.filter(task__incident=activated, task__department=mine).first()
    their_item = ChecklistItem.objects.filter(task__incident=activated, task__department=theirs).first()
    lead = hospital.api(hospital.lead(mine)).user
    actions.tick(lead, my_item)
    my_item.refresh_from_db()
    assert my_item.done_by == lead.username and my_item.done_at
    with pytest.raises(Forbidden):
        actions.tick(lead, their_item)
    with pytest.raises(Forbidden):
        actions.tick(hospital.api(hospital.engineer).user, my_item)
    actions.tick(hospital.api(hospital.office).user, their_item)  # the office may act for any department


def test_a_department_acknowledges_once(activated: Incident, hospital: Cast) -> None:
    code = tasked_with_checklists(hospital, activated)[0]
    task = DepartmentTask.objects.get(incident=activated, department=code)
    lead = hospital.api(hospital.lead(code)).user
    actions.acknowledge_department(lead, task)
    task.refresh_from_db()
    assert task.acknowledged_by == lead.username
    with pytest.raises(InvalidTransition):
        actions.acknowledge_department(lead, task)


def test_an_outage_of_a_scenario_s_system_brings_the_scenario(hospital: Cast) -> None:
    """The 医保 system down brings the 医保 network failure scenario; the claims gateway its own."""
    scenario = hospital.scenario
    incident = hospital.report(system=hospital.scenario_system(scenario), scope="hospital")
    hospital.api(hospital.engineer).post(f"/incidents/{incident['id']}/acknowledge")
    assert hospital.api(hospital.commander).post(f"/incidents/{incident['id']}/activate").status_code == 200
    task = DepartmentTask.objects.get(incident_id=incident["id"], scenario=scenario.code)
    assert list(task.items.values_list("text", flat=True)) == [item.text for item in scenario.checklist.items()]


def test_the_incident_page_shows_checklists_and_the_lead_can_tick_from_the_web(activated: Incident,
                                                                               hospital: Cast) -> None:
    from django.test import Client

    code = tasked_with_checklists(hospital, activated)[0]
    client = Client()
    client.force_login(User.objects.get(username=hospital.lead(code)))
    page = client.get(f"/incidents/{activated.number}").content.decode()
    item = ChecklistItem.objects.filter(task__incident=activated, task__department=code).first()
    assert hospital.plan.department(code).name in page and item.text in page  # type: ignore[union-attr]
    response = client.post(f"/items/{item.pk}/tick", {"done": "1"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.done_by == hospital.lead(code)


def test_asking_for_a_lower_level_does_not_lower_who_may_activate_or_stand_down(hospital: Cast) -> None:
    """The graded level needs the commander; the plans let the office activate the lowest level only."""
    from django.test import Client

    lowest = hospital.levels()[-1]
    incident = hospital.report(scope="hospital")
    iid = incident["id"]
    hospital.api(hospital.engineer).post(f"/incidents/{iid}/acknowledge")
    graded = Incident.objects.get(pk=iid).response_level
    assert graded != lowest and "office" not in hospital.plan.activation_for(graded).activate  # type: ignore[union-attr]
    assert "office" in hospital.plan.activation_for(lowest).activate  # type: ignore[union-attr]
    office = hospital.api(hospital.office)
    refused = office.post(f"/incidents/{iid}/activate", {"level": lowest})
    assert refused.status_code == 403, refused.content
    web = Client()
    web.force_login(office.user)
    web.post(f"/incidents/{Incident.objects.get(pk=iid).number}/action/activate", {"level": lowest})
    assert not Incident.objects.get(pk=iid).plan_active
    assert not actions.may(office.user, Incident.objects.get(pk=iid), "activate")

    # The commander may choose the lowest level; standing it down is still for the graded level's roles.
    commander = hospital.api(hospital.commander)
    assert commander.post(f"/incidents/{iid}/activate", {"level": lowest}).status_code == 200
    assert Incident.objects.get(pk=iid).activation_level == lowest
    assert office.post(f"/incidents/{iid}/stand_down").status_code == 403
    assert commander.post(f"/incidents/{iid}/stand_down").status_code == 200


def test_the_office_cannot_lower_the_level_by_hand_to_activate_it_itself(hospital: Cast) -> None:
    highest, lowest = hospital.levels()[0], hospital.levels()[-1]
    incident = hospital.report(scope="hospital")
    iid = incident["id"]
    hospital.api(hospital.engineer).post(f"/incidents/{iid}/acknowledge")
    graded = Incident.objects.get(pk=iid).response_level
    office = hospital.api(hospital.office).user
    with pytest.raises(Forbidden):
        actions.override_grade(office, Incident.objects.get(pk=iid), "response_level", lowest, "looks minor")
    assert Incident.objects.get(pk=iid).response_level == graded
    actions.override_grade(office, Incident.objects.get(pk=iid), "response_level", highest, "worse than it looks")
    assert Incident.objects.get(pk=iid).response_level == highest  # raising is the office's call
    actions.override_grade(hospital.api(hospital.commander).user, Incident.objects.get(pk=iid), "response_level",
                           lowest, "the commander decides")
    assert Incident.objects.get(pk=iid).response_level == lowest
