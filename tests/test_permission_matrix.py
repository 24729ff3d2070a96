"""Every mutating API route × every role, anonymous and a garbage token: the status is the one
in tests/permission_table.py, the table docs/permissions.md shows.

The routes come from the OpenAPI document, so a new route without a row fails here. Each cell
sets up its own object in the state the action needs (test_permissions.put_in), so a refusal
can only be the role's.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from yingji.core import clock
from yingji.notify.models import Message
from yingji.recovery.models import ManualRecord

from .conftest import RESTORE_CHECKS, report
from .permission_table import CALLERS, MATRIX, expected, markdown
from .test_backentry import CSV_HEADER, charge
from .test_permissions import put_in

DOCS = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"
MUTATING = ("post", "put", "patch", "delete")

# A request: path, then a JSON body, or files for a multipart upload.
Request = tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], dict[str, Any]]


def documented_routes(client: Client) -> set[str]:
    """Every mutating operation of the OpenAPI document, a path enum (the action, the step)
    expanded to one route per value."""
    routes = set()
    for path, operations in client.get("/api/v1/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            if method not in MUTATING:
                continue
            variants = [path.removeprefix("/api/v1")]
            for parameter in operation.get("parameters", []):
                values = parameter.get("schema", {}).get("enum")
                if parameter["in"] == "path" and values:
                    name = "{" + parameter["name"] + "}"
                    variants = [v.replace(name, value) for v in variants for value in values]
            routes |= {f"{method.upper()} {v}" for v in variants}
    return routes


def test_every_mutating_route_has_a_row(demo: Any) -> None:
    assert documented_routes(Client()) == set(MATRIX)


def test_the_docs_show_the_table() -> None:
    assert DOCS.read_text(encoding="utf-8") == markdown(), (
        "docs/permissions.md is out of date: .venv/bin/python -m tests.permission_table > docs/permissions.md")


# -- setting up each row's object ------------------------------------------------------------


def incident_in(api: Any, state: str, **extra: Any) -> int:
    incident = report(api("nurse-wang"), system="LIS", **extra)
    put_in(incident["id"], state)
    return int(incident["id"])


def lifecycle(action: str, state: str) -> Callable[[Any], Request]:
    def setup(api: Any) -> Request:
        return f"/incidents/{incident_in(api, state)}/{action}", {"reason": "测试", "checks": RESTORE_CHECKS}
    return setup


def hospital_incident(api: Any) -> int:
    return int(report(api("nurse-wang"), scope="hospital")["id"])


def record_in(api: Any, state: str, **extra: Any) -> int:
    """A cashier's slip moved to `state` by the office."""
    office = api("info-director")
    record = office.post(f"/incidents/{hospital_incident(api)}/records", charge(f"S-{clock.now().timestamp()}",
                                                                                  **extra)).json()
    for step in {"pending": [], "entered": ["enter"], "verified": ["enter", "verify"]}[state]:
        office.post(f"/records/{record['id']}/{step}", {"his_id": "HIS-1"})
    assert ManualRecord.objects.get(pk=record["id"]).state == state
    return int(record["id"])


def record_step(step: str, state: str, **extra: Any) -> Callable[[Any], Request]:
    def setup(api: Any) -> Request:
        return f"/records/{record_in(api, state, **extra)}/{step}", {"his_id": "HIS-1"}
    return setup


def page_to_eng_duty(api: Any) -> Request:
    """The page an incident opens goes to whoever the roster has on duty now; the row wants that
    to be the engineer whose login the matrix uses."""
    incident_in(api, "reported")
    message = Message.objects.filter(needs_ack=True, acked_at__isnull=True).latest("id")
    Message.objects.filter(pk=message.pk).update(person="eng-duty", name="周杰")
    return f"/notifications/{message.pk}/ack", {}


def override(api: Any) -> Request:
    start = clock.now() + timedelta(days=1)
    return "/rosters/it-duty/overrides", {"person": "eng-net", "starts_at": start.isoformat(),
                                          "ends_at": (start + timedelta(hours=8)).isoformat(), "reason": "调班"}


def swap(api: Any) -> Request:
    today = clock.now().date()
    return "/rosters/it-duty/swap", {"first": (today + timedelta(days=1)).isoformat(),
                                     "second": (today + timedelta(days=2)).isoformat(), "reason": "调班"}


def paper_log(api: Any) -> Request:
    when = (clock.now().replace(microsecond=0) - timedelta(minutes=5)).isoformat()
    content = io.BytesIO((CSV_HEADER + f"charge,cashier,C1,,P-1,{when},10.00,,\n").encode())
    content.name = "log.csv"
    return f"/incidents/{hospital_incident(api)}/records/import", {}, {"file": content}


def expected_totals(api: Any) -> Request:
    record = ManualRecord.objects.get(pk=record_in(api, "pending"))
    return f"/incidents/{record.incident_id}/reconciliation/cashier", {"expected_count": 1}


def sign_as_lead(api: Any) -> Request:
    path, body = expected_totals(api)
    api("info-director").post(path, body)
    return f"{path}/sign", {"as": "lead", "note": "纸质登记簿已核对"}


def unreserved_range(api: Any) -> Request:
    prefix = "T" + re.sub(r"\D", "", str(clock.now().timestamp()))[-8:]
    return "/temp-ranges", {"department": "cashier", "prefix": prefix, "first": 1, "last": 99}


def maintenance_window() -> dict[str, Any]:
    start = clock.now() + timedelta(hours=2)
    return {"system": "LIS", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
            "reason": "LIS 升级"}


def silence_to_end(api: Any) -> Request:
    from yingji.alerts import actions as alert_actions
    from yingji.core.actors import CLI

    window = maintenance_window()
    silence = alert_actions.create_silence(CLI, system="LIS", starts_at=datetime.fromisoformat(window["starts_at"]),
                                           ends_at=datetime.fromisoformat(window["ends_at"]), reason="LIS 升级")
    return f"/silences/{silence.pk}/end", {}


SETUPS: dict[str, Callable[[Any], Request]] = {
    "POST /incidents": lambda api: ("/incidents", {"system": "LIS", "symptom": "无法打印条码"}),
    "POST /incidents/{incident_id}/acknowledge": lifecycle("acknowledge", "reported"),
    "POST /incidents/{incident_id}/arrive": lifecycle("arrive", "acknowledged"),
    "POST /incidents/{incident_id}/activate": lifecycle("activate", "on_site"),
    "POST /incidents/{incident_id}/stand_down": lifecycle("stand_down", "activated"),
    "POST /incidents/{incident_id}/restore": lifecycle("restore", "on_site"),
    "POST /incidents/{incident_id}/close": lifecycle("close", "restored"),
    "POST /incidents/{incident_id}/cancel": lifecycle("cancel", "reported"),
    "POST /notifications/{message_id}/ack": page_to_eng_duty,
    "POST /rosters/{code}/overrides": override,
    "POST /rosters/{code}/swap": swap,
    "POST /incidents/{incident_id}/records": lambda api: (f"/incidents/{hospital_incident(api)}/records",
                                                          charge("S-1")),
    "POST /incidents/{incident_id}/records/import": paper_log,
    "POST /records/{record_id}/enter": record_step("enter", "pending"),
    "POST /records/{record_id}/verify": record_step("verify", "entered"),
    "POST /records/{record_id}/confirm": record_step("confirm", "verified"),
    "POST /records/{record_id}/settle": record_step("settle", "entered", insurance="resident"),
    "POST /incidents/{incident_id}/reconciliation/{department}": expected_totals,
    "POST /incidents/{incident_id}/reconciliation/{department}/sign": sign_as_lead,
    "POST /temp-ranges": unreserved_range,
    "POST /departments/{department}/temp-number": lambda api: ("/departments/cashier/temp-number", {}),
    "POST /silences": lambda api: ("/silences", maintenance_window()),
    "POST /silences/{silence_id}/end": silence_to_end,
}


def test_every_row_has_a_setup() -> None:
    assert set(SETUPS) == set(MATRIX)


def send(api: Any, caller: str, request: Request) -> Any:
    token = api(CALLERS[caller]).token if CALLERS[caller] else ("yj_not-a-token" if caller == "garbage token" else "")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    path, body, *files = request
    client = Client()
    if files:
        return client.post(f"/api/v1{path}", files[0], **headers)
    return client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json", **headers)


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("route", list(MATRIX))
def test_the_status_is_the_table_s(api: Any, route: str, caller: str) -> None:
    response = send(api, caller, SETUPS[route](api))
    assert response.status_code == expected(route, caller), (route, caller, response.content[:300])
