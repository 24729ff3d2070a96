"""Input a database cannot hold is a 4xx naming the field, on SQLite and on PostgreSQL alike.

Out-of-range integers and years, negative or huge offsets and NUL bytes are refused at the HTTP
edge (yingji.core.apischema); a body over the limit is a 413 before anything parses it
(yingji.core.limits).
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client, RequestFactory, override_settings

from yingji.core.limits import BodyLimitMiddleware
from yingji.incidents.models import Incident, Report

from .conftest import report

HUGE = 2**63


def assert_names(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["field"] == field, body
    assert body["detail"]


@pytest.mark.parametrize(("body", "field"), [
    ({"patients_affected": 2**31}, "patients_affected"),
    ({"patients_affected": HUGE}, "patients_affected"),
    ({"symptom": "无法\x00登录"}, "symptom"),
    ({"location": "\x00"}, "location"),
])
def test_a_report_the_database_cannot_hold_is_422_naming_the_field(api: Any, body: dict[str, Any],
                                                                  field: str) -> None:
    response = api("nurse-wang").post("/incidents", {"system": "HIS", "symptom": "x", **body})
    assert_names(response, 422, field)
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(("path", "field"), [
    ("/incidents/0", "incident_id"),
    (f"/incidents/{HUGE}", "incident_id"),
    ("/incidents/-1", "incident_id"),
    ("/incidents?offset=-1", "offset"),
    (f"/incidents?offset={HUGE}", "offset"),
    ("/incidents?limit=0", "limit"),
    ("/incidents?limit=100000", "limit"),
    ("/incidents?status=open%00", "status"),
    ("/reports/R%00", "number"),
    ("/rosters/it-duty/oncall?at=0001-01-01T00:00:00", "at"),
    ("/rosters/it-duty/oncall?at=9999-12-31T23:59:59-12:00", "at"),
    ("/rosters/it%00duty/oncall", "code"),
    ("/incidents/1/records?offset=-3", "offset"),
])
def test_out_of_range_parameters_are_422_naming_the_field(api: Any, path: str, field: str) -> None:
    assert_names(api("eng-duty").get(path), 422, field)


def test_a_time_without_an_offset_is_the_hospital_s_wall_clock(api: Any) -> None:
    local = api("eng-duty").get("/rosters/it-duty/oncall?at=2030-03-01T09:00:00").json()
    aware = api("eng-duty").get("/rosters/it-duty/oncall?at=2030-03-01T09:00:00%2B08:00").json()
    assert local == aware


def test_an_override_in_the_year_ten_thousand_is_refused(api: Any) -> None:
    body = {"person": "eng-net", "starts_at": "2030-01-01T08:00:00+08:00", "ends_at": "9999-12-31T23:59:59-12:00"}
    assert_names(api("info-director").post("/rosters/it-duty/overrides", body), 422, "ends_at")


def test_back_entry_numbers_beyond_their_columns_are_refused(api: Any) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    office = api("info-director")
    path = f"/incidents/{incident['id']}/reconciliation/cashier"
    assert_names(office.post(path, {"expected_count": 2**31}), 422, "expected_count")
    assert_names(office.post(path, {"expected_amount": "1" * 13 + ".00"}), 422, "expected_amount")
    assert_names(office.post(f"/incidents/{incident['id']}/reconciliation/{'x' * 41}", {}), 422, "department")
    assert_names(office.post("/temp-ranges", {"department": "cashier", "prefix": "Q", "first": 1, "last": HUGE}),
                 422, "last")
    assert_names(office.post(f"/incidents/{incident['id']}/records", {"paper_serial": "P\x00"}), 422,
                 "paper_serial")


def test_an_unknown_path_under_the_api_is_a_json_404(api: Any) -> None:
    response = api("eng-duty").get("/rosters/a%2Fb/oncall")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(("form", "field"), [
    ({"patients_affected": "9" * 30}, "patients_affected"),
    ({"patients_affected": str(2**31)}, "patients_affected"),
    ({"patients_affected": "9" * 5000}, "patients_affected"),
    ({"patients_affected": "-4"}, "patients_affected"),
    ({"symptom": "打印机\x00卡纸"}, "symptom"),
    ({"location": "门诊\x00"}, "location"),
    ({"scope": "\x00"}, "scope"),
])
def test_the_anonymous_report_form_answers_400_naming_the_field(demo: Any, form: dict[str, str],
                                                               field: str) -> None:
    response = Client().post("/report", {"system": "HIS", "symptom": "无法登录", "location": "门诊", **form})
    assert response.status_code == 400
    assert field in response.context["errors"], response.context["errors"]
    assert Report.objects.count() == 0


@override_settings(YINGJI_BODY_MAX_BYTES=1000, DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_json_body_over_the_limit_is_a_json_413_naming_the_body(api: Any) -> None:
    response = api("nurse-wang").post("/incidents", {"system": "HIS", "symptom": "x" * 2000})
    assert_names(response, 413, "body")
    assert response.json()["limit"] == 1000
    assert Incident.objects.count() == 0


@override_settings(YINGJI_BODY_MAX_BYTES=1000, DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_web_form_over_the_limit_gets_a_plain_page_in_the_reader_s_language(demo: Any) -> None:
    body = {"system": "HIS", "symptom": "x" * 2000}
    chinese = Client().post("/report", body)
    assert chinese.status_code == 413 and "请求内容过大" in chinese.content.decode()
    english = Client(HTTP_ACCEPT_LANGUAGE="en").post("/report", body)
    assert english.status_code == 413 and "Request too large" in english.content.decode()


@override_settings(YINGJI_BODY_MAX_BYTES=1000, DATA_UPLOAD_MAX_MEMORY_SIZE=1000, YINGJI_IMPORT_MAX_BYTES=50_000)
def test_an_import_may_be_larger_than_a_form_but_not_without_bound(api: Any) -> None:
    incident = report(api("nurse-wang"), scope="hospital")
    office = api("info-director")
    header = b"kind,department,card_no,temp_no,paper_serial,occurred_at,amount,clinician,insurance\n"

    def upload(size: int) -> Any:
        content = io.BytesIO(header + (b"#" * 99 + b"\n") * (size // 100))  # short lines: no cell past its bound
        content.name = "log.csv"
        return office.client.post(f"/api/v1/incidents/{incident['id']}/records/import", {"file": content},
                                  HTTP_AUTHORIZATION=f"Bearer {office.token}")

    assert upload(20_000).status_code in (200, 400)  # over the form limit, under the import limit: read
    assert_names(upload(60_000), 413, "body")


@override_settings(YINGJI_BODY_MAX_BYTES=1000)
def test_a_chunked_body_is_read_only_up_to_the_limit() -> None:
    seen: list[bytes] = []

    def view(request: Any) -> Any:
        seen.append(request.body)
        return "ok"

    middleware = BodyLimitMiddleware(view)

    def chunked(data: bytes) -> Any:
        request = RequestFactory().post("/api/v1/incidents", content_type="application/json")
        del request.META["CONTENT_LENGTH"]
        request.META["HTTP_TRANSFER_ENCODING"] = "chunked"
        request.META["wsgi.input"] = stream = io.BytesIO(data)
        return middleware(request), stream

    body = json.dumps({"symptom": "x"}).encode()
    assert chunked(body)[0] == "ok" and seen == [body]
    refused, stream = chunked(b"x" * 10_000_000)
    assert refused.status_code == 413
    assert stream.tell() <= 1001  # the rest was never read


def test_nul_in_a_web_path_query_or_form_field_is_a_400_naming_it(api: Any) -> None:
    from django.test import Client

    from yingji.accounts.models import User

    report(api("nurse-wang"), scope="hospital")
    web = Client()
    web.force_login(User.objects.get(username="info-director"))
    for path in ("/incidents/YJ%00/records", "/incidents/?system=HIS%00", "/plan?version=1%00"):
        response = web.get(path)
        assert response.status_code == 400, path
    form = web.post("/temp-ranges", {"department": "wards", "prefix": "ZY\x00", "first": "1", "last": "9"})
    assert form.status_code == 400 and "prefix" in form.content.decode()
    assert Client().post("/report", {"system": "HIS", "symptom": "a\x00b"}).status_code == 400
    api_query = api("eng-duty").get("/incidents?status=open%00")
    assert api_query.status_code == 422 and api_query.json()["field"] == "status"  # the API's own types


def test_a_cookie_with_nul_is_dropped_not_a_500(api: Any) -> None:
    from django.test import Client

    web = Client()
    web.cookies["sessionid"] = "abcdefgh\x00ijk"
    web.cookies["csrftoken"] = "x\x00y"
    for path in ("/", "/report", "/api/v1/systems", "/login"):
        assert web.get(path).status_code < 500, path


def test_web_facts_and_roster_forms_name_what_is_out_of_range(api: Any) -> None:
    from django.test import Client

    from yingji.accounts.models import User
    from yingji.incidents.models import Incident
    from yingji.oncall.models import RosterOverride

    incident = report(api("nurse-wang"))
    number = Incident.objects.get(pk=incident["id"]).number
    web = Client()
    web.force_login(User.objects.get(username="info-director"))
    page = web.post(f"/incidents/{number}/facts", {"patients_affected": "9" * 30, "scope": "hospital"}, follow=True)
    assert page.status_code == 200 and Incident.objects.get(pk=incident["id"]).patients_affected == 0
    for starts in ("2026-02-30T08:00", "0001-01-01T00:00", "9999-12-31T23:00"):
        page = web.post("/rosters/it-duty/override", {"person": "eng-db", "starts_at": starts,
                                                      "ends_at": "2026-12-31T08:00"}, follow=True)
        assert page.status_code == 200, starts
    assert not RosterOverride.objects.exists()
