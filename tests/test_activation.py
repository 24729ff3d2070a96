"""Activation creates each department's checklist from the plan; leads tick and acknowledge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from yingji.accounts.models import User
from yingji.core.errors import Forbidden, InvalidTransition
from yingji.incidents import actions
from yingji.incidents.models import ChecklistItem, DepartmentTask, Incident

from .conftest import report


@pytest.fixture
def activated(api: Any) -> Incident:
    incident = report(api("nurse-wang"), scope="hospital")
    api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    response = api("dean").post(f"/incidents/{incident['id']}/activate")
    assert response.status_code == 200, response.json()
    return Incident.objects.get(pk=incident["id"])


def test_level_2_activation_creates_the_plans_departments_and_their_checklists(activated: Incident,
                                                                                 demo: Any) -> None:
    rule = demo.activation_for("2")
    departments = set(DepartmentTask.objects.filter(incident=activated, scenario="").values_list("department",
                                                                                                  flat=True))
    assert departments == set(rule.departments)
    cashier = DepartmentTask.objects.get(incident=activated, department="cashier")
    texts = list(cashier.items.values_list("phase", "text"))
    plan_items = [(item.phase, item.text) for item in demo.procedure_for("cashier").checklist.items()]
    assert texts == plan_items
    assert any("就诊卡" in text for _, text in texts)
    assert cashier.ack_due_at == activated.activated_at + timedelta(seconds=demo.timers.department_ack)


def test_a_department_lead_ticks_items_of_their_own_department_only(activated: Incident, api: Any) -> None:
    cashier_item = ChecklistItem.objects.filter(task__incident=activated, task__department="cashier").first()
    pharmacy_item = ChecklistItem.objects.filter(task__incident=activated,
                                                 task__department="outpatient-pharmacy").first()
    lead = api("cashier-head").user
    actions.tick(lead, cashier_item)
    cashier_item.refresh_from_db()
    assert cashier_item.done_by == "cashier-head" and cashier_item.done_at
    with pytest.raises(Forbidden):
        actions.tick(lead, pharmacy_item)
    with pytest.raises(Forbidden):
        actions.tick(api("eng-duty").user, cashier_item)
    actions.tick(api("info-director").user, pharmacy_item)  # the office may act for any department


def test_a_department_acknowledges_once(activated: Incident, api: Any) -> None:
    task = DepartmentTask.objects.get(incident=activated, department="cashier")
    actions.acknowledge_department(api("cashier-head").user, task)
    task.refresh_from_db()
    assert task.acknowledged_by == "cashier-head"
    with pytest.raises(InvalidTransition):
        actions.acknowledge_department(api("cashier-head").user, task)


def test_an_insurance_outage_brings_the_insurance_failure_scenario(api: Any) -> None:
    incident = report(api("nurse-wang"), system="INS", scope="hospital")
    api("eng-duty").post(f"/incidents/{incident['id']}/acknowledge")
    assert api("dean").post(f"/incidents/{incident['id']}/activate").status_code == 200
    scenario = DepartmentTask.objects.get(incident_id=incident["id"], scenario="insurance-network")
    assert any("医保网络故障" in text for text in scenario.items.values_list("text", flat=True))


def test_the_incident_page_shows_checklists_and_the_lead_can_tick_from_the_web(activated: Incident,
                                                                               api: Any) -> None:
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username="cashier-head"))
    page = client.get(f"/incidents/{activated.number}").content.decode()
    assert "收费科" in page and "手工方式挂号" in page
    item = ChecklistItem.objects.filter(task__incident=activated, task__department="cashier").first()
    response = client.post(f"/items/{item.pk}/tick", {"done": "1"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.done_by == "cashier-head"


def test_asking_for_a_lower_level_does_not_lower_who_may_activate_or_stand_down(api: Any) -> None:
    """Level 2 needs the commander; the demo plan lets the office activate level 3 only."""
    from django.test import Client

    incident = report(api("nurse-wang"), scope="hospital")
    iid = incident["id"]
    api("eng-duty").post(f"/incidents/{iid}/acknowledge")
    assert Incident.objects.get(pk=iid).response_level == "2"
    refused = api("info-director").post(f"/incidents/{iid}/activate", {"level": "3"})
    assert refused.status_code == 403, refused.content
    web = Client()
    web.force_login(api("info-director").user)
    web.post(f"/incidents/{Incident.objects.get(pk=iid).number}/action/activate", {"level": "3"})
    assert not Incident.objects.get(pk=iid).plan_active
    assert not actions.may(api("info-director").user, Incident.objects.get(pk=iid), "activate")

    # The commander may choose level 3; standing it down is still for the level-2 roles.
    assert api("dean").post(f"/incidents/{iid}/activate", {"level": "3"}).status_code == 200
    assert Incident.objects.get(pk=iid).activation_level == "3"
    assert api("info-director").post(f"/incidents/{iid}/stand_down").status_code == 403
    assert api("dean").post(f"/incidents/{iid}/stand_down").status_code == 200


def test_the_office_cannot_lower_the_level_by_hand_to_activate_it_itself(api: Any) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    iid = incident["id"]
    api("eng-duty").post(f"/incidents/{iid}/acknowledge")
    office = api("info-director").user
    with pytest.raises(Forbidden):
        actions.override_grade(office, Incident.objects.get(pk=iid), "response_level", "3", "looks minor")
    assert Incident.objects.get(pk=iid).response_level == "2"
    actions.override_grade(office, Incident.objects.get(pk=iid), "response_level", "1", "worse than it looks")
    assert Incident.objects.get(pk=iid).response_level == "1"  # raising is the office's call
    actions.override_grade(api("dean").user, Incident.objects.get(pk=iid), "response_level", "3", "dean decides")
    assert Incident.objects.get(pk=iid).response_level == "3"
