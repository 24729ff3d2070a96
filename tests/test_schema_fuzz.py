"""The OpenAPI document holds: schemathesis fuzzes every operation of a live server.

A throwaway install (core/instance.py) runs the demo hospital under gunicorn. Two roles get real
tokens (an engineer and the emergency office), and the path parameters point at real objects
(an incident, a manual record, a page, a report, a roster, a department), so requests reach the
handlers instead of stopping at 404. Every check schemathesis has runs: no 5xx, every status,
content type, header and body as declared, schema-violating input refused, auth not ignored.
SQLite only: the document is the same on PostgreSQL, and tests/test_input_bounds.py covers what
differs between the databases.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from yingji.core.instance import Instance

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]

ROLES = ("eng-duty", "info-director")
EXAMPLES = 40  # per operation and phase; the whole run stays well under a minute on two cores
SEED = 20260601
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

CONFIG = """\
[auth.openapi.TokenAuth]
bearer = "{token}"

[parameters]
"path.incident_id" = {incident_id}
"path.record_id" = {record_id}
"path.message_id" = {message_id}
"path.number" = "{report}"
"path.code" = "it-duty"
"path.department" = "cashier"

[checks.positive_data_acceptance]
# A body that fits the schema may still name a system, person or department the plan does not
# have, or ask for a step the object's state does not allow: 400 and 409 say so. A 422 for
# schema-valid input would mean the document lies, so that stays a failure.
expected-statuses = ["2xx", "3xx", 400, 401, 403, 404, 409, 429, "5xx"]

[[operations]]
include-path-regex = "/rosters/|/silences"
# Times and dates must fall in the years 2000-2199 (apischema.When, Day): JSON Schema's date-time
# format cannot say so, so a schema-valid year 0110 is a 422 here.
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 400, 401, 403, 404, 409, 422, 429, "5xx"]
"""


def call(instance: Instance, token: str, method: str, path: str, body: Any = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=30)
    conn.request(method, f"/api/v1{path}", None if body is None else json.dumps(body),
                 {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = conn.getresponse()
    payload = json.loads(response.read())
    assert response.status in (200, 201, 202), (path, payload)
    return payload


def seed(instance: Instance, engineer: str, office: str) -> dict[str, Any]:
    """Real objects for every path parameter: the engineer reports, the office registers a slip."""
    accepted = call(instance, engineer, "POST", "/incidents",
                    {"system": "HIS", "symptom": "无法进入程序", "scope": "hospital"})
    deadline = time.monotonic() + 30  # the worker merges it into an incident
    while not (told := call(instance, engineer, "GET", accepted["url"].removeprefix("/api/v1")))["incident"]:
        assert time.monotonic() < deadline, told
        time.sleep(0.05)
    incident = {"id": told["incident_id"], "report": told["number"]}
    occurred = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    record = call(instance, office, "POST", f"/incidents/{incident['id']}/records",
                  {"kind": "charge", "department": "cashier", "card_no": "C1", "paper_serial": "S-1",
                   "occurred_at": occurred, "amount": "10.00"})
    detail = call(instance, office, "GET", f"/incidents/{incident['id']}")
    page = next(n for n in detail["notifications"] if n["person"] == "info-director")
    return {"incident_id": incident["id"], "record_id": record["id"], "message_id": page["id"],
            "report": incident["report"]}


def fuzz(instance: Instance, workdir: Path, user: str, token: str, ids: dict[str, Any]) -> tuple[int, str]:
    workdir.mkdir()
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG.format(token=token, **ids), encoding="utf-8")
    run = subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(config), "run",
         f"http://127.0.0.1:{instance.port}/api/v1/openapi.json", "--checks", "all",
         "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--phases", "examples,coverage,fuzzing",
         "--generation-database", "none", "--request-timeout", "30", "--no-color"],
        cwd=workdir, capture_output=True, text=True, timeout=240)
    return run.returncode, f"--- schemathesis as {user} ---\n{run.stdout}\n{run.stderr}"


def test_every_operation_answers_as_the_openapi_document_says(tmp_path: Path) -> None:
    instance = Instance(tmp_path / "install")
    (tmp_path / "install").mkdir()
    instance.cli("demo")
    tokens = {user: instance.cli("token", "create", user) for user in ROLES}
    started = time.monotonic()
    try:
        instance.start(workers=1, threads=4, worker=True)  # the worker merges the seeded report
        ids = seed(instance, tokens["eng-duty"], tokens["info-director"])
        runs = [fuzz(instance, tmp_path / user, user, tokens[user], ids) for user in ROLES]
    finally:
        instance.kill()
    print(f"schemathesis: {len(ROLES)} roles in {time.monotonic() - started:.0f} s")
    failed = [output for code, output in runs if code != 0]
    assert not failed, "\n".join(failed)
