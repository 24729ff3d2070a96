"""Fault reports: a reference for each, storms merge into one incident, bad input names the field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client

from yingji.core import clock
from yingji.incidents import actions
from yingji.incidents.models import Incident, Report

from .conftest import RESTORED, report


def test_a_report_opens_an_incident_with_a_reference_and_a_grade(api: Any) -> None:
    body = report(api("nurse-wang"))
    assert body["merged"] is False
    assert body["status"] == "reported"
    assert body["number"].startswith("YJ") and body["report"].startswith("R")
    assert body["grade"] == {"fault_class": "III", "response_level": "3", "duration_level": "IV",
                             "category": "DETECH", "national_grade": "general", "scope_level": "general",
                             "event_type": "other"}


def test_reports_about_the_same_system_merge_into_the_open_incident(api: Any) -> None:
    first = report(api("nurse-wang"))
    for location in ("收费处1号窗口", "药房", "住院部5楼护士站"):
        again = report(api("nurse-wang"), location=location)
        assert again["merged"] is True and again["id"] == first["id"]
    detail = api("eng-duty").get(f"/incidents/{first['id']}").json()
    assert detail["reports_count"] == 4
    assert Report.objects.filter(incident_id=first["id"]).count() == 4
    assert len({r.number for r in Report.objects.all()}) == 4


def test_a_report_about_another_system_opens_its_own_incident(api: Any) -> None:
    his = report(api("nurse-wang"), system="HIS")
    lis = report(api("nurse-wang"), system="LIS")
    assert his["id"] != lis["id"] and not lis["merged"]


def test_after_the_merge_window_a_new_incident_opens(api: Any, demo: Any) -> None:
    first = report(api("nurse-wang"))
    clock.advance(timedelta(seconds=demo.intake.merge_window + 1))
    later = report(api("nurse-wang"))
    assert later["id"] != first["id"] and later["merged"] is False


def test_the_window_slides_with_each_report(api: Any, demo: Any) -> None:
    first = report(api("nurse-wang"))
    for _ in range(3):
        clock.advance(timedelta(seconds=demo.intake.merge_window - 60))
        assert report(api("nurse-wang"))["id"] == first["id"]


def test_a_restored_incident_does_not_take_new_reports(api: Any) -> None:
    first = report(api("nurse-wang"))
    engineer = api("eng-duty")
    engineer.post(f"/incidents/{first['id']}/acknowledge")
    engineer.post(f"/incidents/{first['id']}/restore", RESTORED)
    assert report(api("nurse-wang"))["id"] != first["id"]


def test_an_unknown_system_is_rejected_naming_the_field(api: Any) -> None:
    response = api("nurse-wang").post("/incidents", {"system": "RIS", "symptom": "x"})
    assert response.status_code == 400
    assert response.json()["field"] == "system"
    assert "HIS" in response.json()["detail"]
    assert Incident.objects.count() == 0


def test_a_missing_symptom_is_rejected_naming_the_field(api: Any) -> None:
    response = api("nurse-wang").post("/incidents", {"system": "HIS"})
    assert response.status_code == 422
    assert response.json()["field"] == "symptom"


def test_negative_patients_are_rejected_naming_the_field(api: Any) -> None:
    response = api("nurse-wang").post("/incidents", {"system": "HIS", "symptom": "x", "patients_affected": -1})
    assert response.status_code == 422
    assert response.json()["field"] == "patients_affected"


def test_the_api_needs_a_token(demo: Any) -> None:
    response = Client().post("/api/v1/incidents", {"system": "HIS", "symptom": "x"}, content_type="application/json")
    assert response.status_code == 401
    assert "token" in response.json()["detail"]


def test_a_later_report_widens_scope_and_patients_and_regrades(api: Any) -> None:
    first = report(api("nurse-wang"))
    report(api("nurse-wang"), scope="hospital", patients_affected=80)
    detail = api("eng-duty").get(f"/incidents/{first['id']}").json()
    assert detail["scope"] == "hospital" and detail["patients_affected"] == 80
    assert detail["grade"]["fault_class"] == "I"
    assert detail["grade"]["response_level"] == "2"


def test_phone_reports_are_logged_by_the_information_center_only(api: Any) -> None:
    body = {"system": "PACS", "symptom": "影像调不出", "reporter_name": "李医生", "department": "emergency",
            "channel": "phone"}
    assert api("nurse-wang").post("/incidents", body).status_code == 403
    response = api("eng-duty").post("/incidents", body)
    assert response.status_code == 202
    logged = Report.objects.get(number=response.json()["report"])
    assert (logged.channel, logged.logged_by, logged.reporter_name) == ("phone", "eng-duty", "李医生")


def test_the_web_form_takes_a_report_without_login_and_shows_its_status(demo: Any) -> None:
    client = Client()
    page = client.get("/report")
    assert page.status_code == 200 and "医院信息系统（HIS）" in page.content.decode()
    response = client.post("/report", {"system": "HIS", "symptom": "无法保存数据", "location": "门诊药房",
                                       "phone": "8123"})
    assert response.status_code == 302
    # Answered before the worker merged it: the reference at once, and "received".
    saved = Report.objects.get()
    waiting = client.get(response["Location"]).content.decode()
    assert saved.incident is None and saved.number in waiting and 'id="report-received"' in waiting
    assert "已收到" in waiting and 'hx-trigger="every 1s"' in waiting
    assert actions.merge_pending() == 1
    text = client.get(response["Location"]).content.decode()
    saved.refresh_from_db()
    assert saved.number in text and saved.incident is not None and saved.incident.number in text
    assert "已报告" in text and 'id="report-received"' not in text


def test_the_web_form_names_the_field_that_is_wrong(demo: Any) -> None:
    response = Client().post("/report", {"system": "HIS", "symptom": "", "location": "x"})
    assert response.status_code == 400
    assert "此字段为必填项" in response.content.decode()
    assert Report.objects.count() == 0
