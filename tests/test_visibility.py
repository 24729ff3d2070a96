"""Who sees what: staff their own department's records, viewers no patients, only those who page
people their mobiles."""

from __future__ import annotations

from typing import Any

from django.test import Client

from yingji.accounts.models import User
from yingji.incidents.models import Incident

from .conftest import report
from .test_backentry import charge


def _records(api: Any) -> dict[str, Any]:
    incident = report(api("nurse-wang"), scope="hospital")
    iid = incident["id"]
    assert api("cashier-li").post(f"/incidents/{iid}/records", {**charge("S-1"), "patient_name": "张三",
                                                                "card_no": "C0001"}).status_code == 201
    ward = {**charge("W-1"), "kind": "medication", "department": "wards", "clinician": "李医生", "amount": "",
            "patient_name": "李四", "card_no": "C0002"}
    assert api("ward-lead").post(f"/incidents/{iid}/records", ward).status_code == 201
    return incident


def test_staff_list_only_their_own_department_s_records_through_the_api(api: Any) -> None:
    iid = _records(api)["id"]
    # Finance-kind departments (the cashier, billing, finance) and the 医保 office settle for all.
    for username, expected in (("nurse-wang", set()), ("doctor-lead", set()), ("ward-lead", {"wards"}),
                               ("cashier-li", {"cashier", "wards"}), ("info-director", {"cashier", "wards"})):
        rows = api(username).get(f"/incidents/{iid}/records").json()
        assert {r["department"] for r in rows} == expected, username
        asked = {r["department"] for r in api(username).get(f"/incidents/{iid}/records?department=cashier").json()}
        sees_all = expected == {"cashier", "wards"}
        assert asked == ({"cashier"} if sees_all else expected), username  # asking for another changes nothing


def test_viewers_see_records_without_the_patients(api: Any) -> None:
    incident = _records(api)
    rows = api("auditor").get(f"/incidents/{incident['id']}/records").json()
    assert len(rows) == 2
    assert {(r["patient_name"], r["card_no"]) for r in rows} == {("***", "***")}
    assert "张三" in str(api("info-director").get(f"/incidents/{incident['id']}/records").json())
    web = Client()
    web.force_login(User.objects.get(username="auditor"))
    page = web.get(f"/incidents/{Incident.objects.get(pk=incident['id']).number}/records?state=all").content.decode()
    assert "张三" not in page and "C0001" not in page and "S-1" in page


def test_mobiles_go_only_to_roles_that_page_people(api: Any, demo: Any) -> None:
    on_duty = api("eng-duty").get("/rosters/it-duty/oncall").json()["person"]
    assert on_duty["mobile"] and on_duty["mobile"] == demo.person(on_duty["code"]).mobile
    for username in ("nurse-wang", "auditor", "cashier-head", "admin"):
        assert api(username).get("/rosters/it-duty/oncall").json()["person"]["mobile"] is None, username
        assert all(r["person"]["mobile"] is None for r in api(username).get("/rosters").json()["rosters"])
    mobile = on_duty["mobile"]
    for username, shown in (("auditor", False), ("nurse-wang", False), ("info-director", True)):
        web = Client()
        web.force_login(User.objects.get(username=username))
        assert (mobile in web.get("/plan").content.decode()) is shown, username


def test_where_pages_went_is_shown_only_to_roles_that_page_people(api: Any, demo: Any) -> None:
    incident = report(api("nurse-wang"))
    detail = api("eng-duty").get(f"/incidents/{incident['id']}").json()
    addresses = {d["address"] for m in detail["notifications"] for d in m["deliveries"]}
    assert any("@" in a for a in addresses)
    for username in ("nurse-wang", "auditor", "admin", "cashier-head"):
        seen = api(username).get(f"/incidents/{incident['id']}").json()
        assert {d["address"] for m in seen["notifications"] for d in m["deliveries"]} <= {""}, username
        assert not any(a and a in str(seen) for a in addresses), username
