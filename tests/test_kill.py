"""Nothing acknowledged is lost: kill -9 the server during a storm of reports; every report that
got a 201 is in the SQLite file afterwards, and the audit chain is still intact."""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from yingji.core.instance import Instance

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]

SYSTEMS = ["HIS", "LIS", "PACS", "EMR"]


def kill_mid_storm(instance: Instance, storm: Callable[[int, threading.Event], None], acknowledged: list[Any],
                   enough: int) -> None:
    """Start the server, let 8 storm threads run until `enough` posts were acknowledged, then
    SIGKILL the gunicorn master and its workers at once, mid-storm."""
    stop = threading.Event()
    try:
        instance.start()
        threads = [threading.Thread(target=storm, args=(i, stop)) for i in range(8)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30  # a loaded 2-core CI machine can be slow to get there
        while len(acknowledged) < enough and time.monotonic() < deadline:
            time.sleep(0.05)
        instance.kill()
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        instance.kill()


def test_every_report_that_got_202_survives_kill_9_and_a_new_worker_merges_it(tmp_path: Path) -> None:
    """Kill -9 the server mid report storm: every report answered 202 is in the file (the group
    commit made it durable before the answer), and a new worker merges each into an incident."""
    instance = Instance(tmp_path)
    token = instance.setup()
    port = instance.port
    acknowledged: list[str] = []
    lock = threading.Lock()

    def storm(worker: int, stop: threading.Event) -> None:
        sent = 0
        while not stop.is_set() and sent < 2000:
            body = json.dumps({"system": SYSTEMS[sent % len(SYSTEMS)], "symptom": "无法进入程序",
                               "location": f"工作站 {worker}-{sent}"})
            sent += 1
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("POST", "/api/v1/incidents", body, {"Authorization": f"Bearer {token}",
                                                                 "Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                continue  # the server died before answering in full: never acknowledged
            if response.status == 202:
                with lock:
                    acknowledged.append(json.loads(payload)["report"])

    kill_mid_storm(instance, storm, acknowledged, 300)

    assert len(acknowledged) >= 300
    db = sqlite3.connect(instance.sqlite_path)
    stored = {row[0] for row in db.execute("SELECT number FROM incidents_report")}
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged reports lost, e.g. {sorted(missing)[:5]}"
    pending = "SELECT count(*) FROM incidents_report WHERE incident_id IS NULL"
    worker = instance.worker()
    try:
        deadline = time.monotonic() + 60
        while db.execute(pending).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.kill()
        worker.wait()
    assert db.execute(pending).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM incidents_report WHERE merge_error != ''").fetchone()[0] == 0
    counted = dict(db.execute("SELECT system, SUM(reports_count) FROM incidents_incident GROUP BY system"))
    per_system = dict(db.execute("SELECT system, COUNT(*) FROM incidents_report GROUP BY system"))
    assert counted == per_system  # the counters agree with the rows: no half-written report
    assert instance.cli("audit", "verify").startswith("audit chain intact")


def test_every_alert_payload_that_got_202_survives_kill_9_and_the_worker_applies_it(tmp_path: Path) -> None:
    """The same for monitors: kill -9 the server mid alert storm; every payload answered 202 is in
    the file, and a new worker turns every alert in them into a row."""
    instance = Instance(tmp_path)
    instance.setup()
    printed = instance.cli("integration", "add", "alertmanager", "storm")
    path = "/integrations/" + printed.split("/integrations/", 1)[1]
    port = instance.port
    acknowledged: list[tuple[int, int]] = []  # (intake id, alerts in it)
    lock = threading.Lock()

    def storm(worker: int, stop: threading.Event) -> None:
        sent = 0
        while not stop.is_set() and sent < 500:
            alerts = [{"status": "firing", "labels": {"alertname": "HostDown", "instance": f"h{worker}-{sent}-{k}",
                                                      "system": SYSTEMS[k % len(SYSTEMS)], "severity": "critical"},
                       "startsAt": "2026-12-02T07:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                       "fingerprint": f"{worker}-{sent}-{k}"} for k in range(20)]
            sent += 1
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("POST", path, json.dumps({"version": "4", "alerts": alerts}),
                             {"Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                continue
            if response.status == 202:
                with lock:
                    acknowledged.append((json.loads(payload)["intake"], len(alerts)))

    kill_mid_storm(instance, storm, acknowledged, 200)

    assert len(acknowledged) >= 200
    db = sqlite3.connect(instance.sqlite_path)
    stored = {row[0] for row in db.execute("SELECT id FROM alerts_intake")}
    missing = {i for i, _n in acknowledged} - stored
    assert not missing, f"{len(missing)} acknowledged payloads lost"
    worker = instance.worker()
    try:
        deadline = time.monotonic() + 60
        while db.execute("SELECT count(*) FROM alerts_intake WHERE state = 'pending'").fetchone()[0] and \
                time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.kill()
        worker.wait()
    assert db.execute("SELECT count(*) FROM alerts_intake WHERE state = 'dead'").fetchone()[0] == 0
    alerts = db.execute("SELECT count(*) FROM alerts_alert").fetchone()[0]
    assert alerts >= sum(n for _i, n in acknowledged)
