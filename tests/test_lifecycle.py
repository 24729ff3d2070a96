"""The incident state machine: reported → acknowledged → on site → activated → restored → closed.

Each test runs against every plan in tests/hospitals.py: the shipped ones and the second hospital's."""

from __future__ import annotations

from yingji.core.models import AuditEntry
from yingji.incidents.models import Incident, Notice, SystemState

from .conftest import RESTORED
from .hospitals import Cast


def actions_on_timeline(incident_id: int) -> list[str]:
    return list(AuditEntry.objects.filter(subject_type="incident", subject_id=incident_id)
                .order_by("id").values_list("action", flat=True))


def test_an_incident_runs_its_whole_life(hospital: Cast) -> None:
    incident = hospital.report(scope="hospital")
    api = hospital.api
    engineer, commander, office = api(hospital.engineer), api(hospital.commander), api(hospital.office)
    path = f"/incidents/{incident['id']}"
    assert engineer.post(f"{path}/acknowledge").json()["status"] == "acknowledged"
    assert engineer.post(f"{path}/arrive").json()["status"] == "on_site"
    assert commander.post(f"{path}/activate").json()["status"] == "activated"
    assert engineer.post(f"{path}/restore", {"note": "Database failed over", **RESTORED}).json()["status"] == "restored"
    assert office.post(f"{path}/close").status_code == 409  # the plan is still active
    assert commander.post(f"{path}/stand_down").json()["plan_active"] is False
    closed = office.post(f"{path}/close", {"note": "Review booked"}).json()
    assert closed["status"] == "closed"
    for field in ("acknowledged_at", "on_site_at", "activated_at", "restored_at", "closed_at"):
        assert closed[field]
    steps = actions_on_timeline(incident["id"])
    for action in ("incident.opened", "report.received", "incident.acknowledged", "incident.on_site",
                   "incident.activated", "incident.restored", "reporters.told", "incident.stood_down",
                   "incident.closed"):
        assert action in steps
    assert [e["action"] for e in closed["timeline"]] == steps


def test_an_invalid_transition_answers_409_with_the_allowed_ones(hospital: Cast) -> None:
    incident = hospital.report()
    response = hospital.api(hospital.office).post(f"/incidents/{incident['id']}/close")
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "reported"
    assert body["allowed"] == ["acknowledge", "arrive", "activate", "cancel", "merge"]


def test_restore_turns_the_board_green_and_tells_every_reporter(hospital: Cast) -> None:
    incident = hospital.report(scope="hospital")
    other = hospital.lead(hospital.standalone.code)
    hospital.report(other)
    assert SystemState.objects.get(code=hospital.core).status == "down"
    engineer = hospital.api(hospital.engineer)
    engineer.post(f"/incidents/{incident['id']}/acknowledge")
    engineer.post(f"/incidents/{incident['id']}/restore", RESTORED)
    assert SystemState.objects.get(code=hospital.core).status == "up"
    told = sorted(Notice.objects.filter(kind="restored").values_list("user__username", flat=True))
    assert told == sorted([other, hospital.reporter])
    assert hospital.api(hospital.reporter).get("/reports/" + incident["report"]).json()["told_restored_at"]


def test_a_local_fault_shows_degraded_not_down(hospital: Cast) -> None:
    hospital.report(system=hospital.local)
    assert SystemState.objects.get(code=hospital.local).status == "degraded"


def test_cancel_needs_a_reason_and_frees_the_board(hospital: Cast) -> None:
    system = hospital.plan.systems[-1].code
    incident = hospital.report(system=system)
    office = hospital.api(hospital.office)
    missing = office.post(f"/incidents/{incident['id']}/cancel")
    assert missing.status_code == 400 and missing.json()["field"] == "reason"
    done = office.post(f"/incidents/{incident['id']}/cancel", {"reason": "User error, shown how"})
    assert done.json()["status"] == "cancelled"
    assert SystemState.objects.get(code=system).status == "up"


def test_an_unknown_action_is_404_naming_the_known_ones(hospital: Cast) -> None:
    incident = hospital.report()
    response = hospital.api(hospital.engineer).post(f"/incidents/{incident['id']}/explode")
    assert response.status_code == 404
    assert "acknowledge" in response.json()["allowed"]


def test_the_facts_form_saves_with_no_other_system_ticked(hospital: Cast) -> None:
    from django.test import Client

    from yingji.accounts.models import User

    incident = hospital.report()
    number = Incident.objects.get(pk=incident["id"]).number
    web = Client()
    web.force_login(User.objects.get(username=hospital.engineer))
    web.post(f"/incidents/{number}/facts", {"scope": "hospital", "cause": "unknown", "security": "none",
                                            "patients_affected": "5", "extra_systems": ""})
    row = Incident.objects.get(pk=incident["id"])
    assert (row.scope, row.patients_affected, row.extra_systems) == ("hospital", 5, [])
    web.post(f"/incidents/{number}/facts", {"scope": "hospital", "extra_systems": [hospital.local, ""]})
    assert Incident.objects.get(pk=incident["id"]).extra_systems == [hospital.local]

