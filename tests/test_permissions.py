"""Role × action: who may move an incident, checked through the API against the shipped plan.

Activation and stand-down follow the plan's activation rule for the level (level 3 of the demo
plan lets the office activate too), closing follows the fault class's treatment (class III may be
closed by the engineer alone, class I needs the office or the commander).
"""

from __future__ import annotations

from typing import Any

import pytest

from yingji.incidents import actions
from yingji.incidents.models import Incident

from .conftest import RESTORE_CHECKS, report

ROLES = {"reporter": "nurse-wang", "engineer": "eng-duty", "office": "info-director", "commander": "dean",
         "department_lead": "cashier-head", "viewer": "auditor", "admin": "admin"}

# (action, state the incident is put in first, roles that may) — class III, level 3 incident.
MATRIX = [
    ("acknowledge", "reported", {"engineer", "office"}),
    ("arrive", "acknowledged", {"engineer", "office"}),
    ("activate", "on_site", {"commander", "office"}),
    ("stand_down", "activated", {"commander", "office"}),
    ("restore", "on_site", {"engineer", "office"}),
    ("close", "restored", {"engineer", "office"}),
    ("cancel", "reported", {"office"}),
]


def put_in(incident_id: int, state: str) -> None:
    system = actions.WORKER
    incident = Incident.objects.get(pk=incident_id)
    steps = {"reported": [], "acknowledged": ["acknowledge"], "on_site": ["acknowledge", "arrive"],
             "activated": ["acknowledge", "arrive", "activate"], "restored": ["acknowledge", "restore"]}[state]
    for step in steps:
        incident = actions.perform(system, incident, step, checks=RESTORE_CHECKS)


@pytest.mark.parametrize(("action", "state", "may"), MATRIX)
@pytest.mark.parametrize("role", list(ROLES))
def test_role_action_matrix(api: Any, role: str, action: str, state: str, may: set[str]) -> None:
    incident = report(api("nurse-wang"), system="LIS")
    put_in(incident["id"], state)
    body = {"reason": "测试", "checks": RESTORE_CHECKS}
    response = api(ROLES[role]).post(f"/incidents/{incident['id']}/{action}", body)
    assert response.status_code == (200 if role in may else 403), (role, action, response.json())


def test_class_i_may_not_be_closed_by_the_engineer_alone(api: Any) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    put_in(incident["id"], "restored")
    assert Incident.objects.get(pk=incident["id"]).fault_class == "I"
    assert api("eng-duty").post(f"/incidents/{incident['id']}/close").status_code == 403
    assert api("dean").post(f"/incidents/{incident['id']}/close").status_code == 200


def test_level_1_activation_is_for_the_commander_only(api: Any) -> None:
    incident = report(api("nurse-wang"))
    office = api("info-director")
    office.post(f"/incidents/{incident['id']}/acknowledge")
    assert office.post(f"/incidents/{incident['id']}/activate", {"level": "1"}).status_code == 403
    assert api("dean").post(f"/incidents/{incident['id']}/activate", {"level": "1"}).status_code == 200


def test_a_viewer_may_read_but_not_report(api: Any) -> None:
    incident = report(api("nurse-wang"))
    viewer = api("auditor")
    assert viewer.get(f"/incidents/{incident['id']}").status_code == 200
    assert viewer.post("/incidents", {"system": "HIS", "symptom": "x"}).status_code == 403


def test_a_revoked_token_gets_401_and_the_revocation_is_on_the_chain(api: Any) -> None:
    from yingji.accounts.models import _token_cache
    from yingji.cli import main
    from yingji.core.models import AuditEntry

    engineer = api("eng-duty")
    assert engineer.get("/systems").status_code == 200
    assert main(["token", "revoke", "eng-duty"]) == 0
    _token_cache.clear()  # the cache holds a token for at most TOKEN_CACHE_S
    assert engineer.get("/rosters").status_code == 401
    assert AuditEntry.objects.get(action="token.revoked").data["username"] == "eng-duty"
