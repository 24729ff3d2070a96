"""The incident state machine: reported → acknowledged → on site → activated → restored → closed."""

from __future__ import annotations

from typing import Any

from yingji.core.models import AuditEntry
from yingji.incidents.models import Incident, Notice, SystemState

from .conftest import RESTORED, report


def actions_on_timeline(incident_id: int) -> list[str]:
    return list(AuditEntry.objects.filter(subject_type="incident", subject_id=incident_id)
                .order_by("id").values_list("action", flat=True))


def test_an_incident_runs_its_whole_life(api: Any) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    engineer, commander, office = api("eng-duty"), api("dean"), api("info-director")
    path = f"/incidents/{incident['id']}"
    assert engineer.post(f"{path}/acknowledge").json()["status"] == "acknowledged"
    assert engineer.post(f"{path}/arrive").json()["status"] == "on_site"
    assert commander.post(f"{path}/activate").json()["status"] == "activated"
    assert engineer.post(f"{path}/restore", {"note": "主库切换完成", **RESTORED}).json()["status"] == "restored"
    assert office.post(f"{path}/close").status_code == 409  # the plan is still active
    assert commander.post(f"{path}/stand_down").json()["plan_active"] is False
    closed = office.post(f"{path}/close", {"note": "复盘已安排"}).json()
    assert closed["status"] == "closed"
    for field in ("acknowledged_at", "on_site_at", "activated_at", "restored_at", "closed_at"):
        assert closed[field]
    steps = actions_on_timeline(incident["id"])
    for action in ("incident.opened", "report.received", "incident.acknowledged", "incident.on_site",
                   "incident.activated", "incident.restored", "reporters.told", "incident.stood_down",
                   "incident.closed"):
        assert action in steps
    assert [e["action"] for e in closed["timeline"]] == steps


def test_an_invalid_transition_answers_409_with_the_allowed_ones(api: Any) -> None:
    incident = report(api("nurse-wang"))
    response = api("info-director").post(f"/incidents/{incident['id']}/close")
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "reported"
    assert body["allowed"] == ["acknowledge", "arrive", "activate", "cancel", "merge"]


def test_restore_turns_the_board_green_and_tells_every_reporter(api: Any) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    report(api("cashier-head"))
    assert SystemState.objects.get(code="HIS").status == "down"
    engineer = api("eng-duty")
    engineer.post(f"/incidents/{incident['id']}/acknowledge")
    engineer.post(f"/incidents/{incident['id']}/restore", RESTORED)
    assert SystemState.objects.get(code="HIS").status == "up"
    told = sorted(Notice.objects.filter(kind="restored").values_list("user__username", flat=True))
    assert told == ["cashier-head", "nurse-wang"]
    assert api("nurse-wang").get("/reports/" + incident["report"]).json()["told_restored_at"]


def test_a_local_fault_shows_degraded_not_down(api: Any) -> None:
    report(api("nurse-wang"), system="LIS")
    assert SystemState.objects.get(code="LIS").status == "degraded"


def test_cancel_needs_a_reason_and_frees_the_board(api: Any) -> None:
    incident = report(api("nurse-wang"), system="APPT")
    office = api("info-director")
    missing = office.post(f"/incidents/{incident['id']}/cancel")
    assert missing.status_code == 400 and missing.json()["field"] == "reason"
    done = office.post(f"/incidents/{incident['id']}/cancel", {"reason": "用户操作失误，已指导"})
    assert done.json()["status"] == "cancelled"
    assert SystemState.objects.get(code="APPT").status == "up"


def test_an_unknown_action_is_404_naming_the_known_ones(api: Any) -> None:
    incident = report(api("nurse-wang"))
    response = api("eng-duty").post(f"/incidents/{incident['id']}/explode")
    assert response.status_code == 404
    assert "acknowledge" in response.json()["allowed"]


def test_the_facts_form_saves_with_no_other_system_ticked(api: Any) -> None:
    from django.test import Client

    from yingji.accounts.models import User

    incident = report(api("nurse-wang"))
    number = Incident.objects.get(pk=incident["id"]).number
    web = Client()
    web.force_login(User.objects.get(username="eng-duty"))
    web.post(f"/incidents/{number}/facts", {"scope": "hospital", "cause": "unknown", "security": "none",
                                            "patients_affected": "5", "extra_systems": ""})
    row = Incident.objects.get(pk=incident["id"])
    assert (row.scope, row.patients_affected, row.extra_systems) == ("hospital", 5, [])
    web.post(f"/incidents/{number}/facts", {"scope": "hospital", "extra_systems": ["LIS", ""]})
    assert Incident.objects.get(pk=incident["id"]).extra_systems == ["LIS"]
