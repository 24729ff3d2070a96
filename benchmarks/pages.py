"""Dashboard and incident page response times with 100,000 historical incidents (SQLite).

Seeds a fresh database with N closed incidents (each with a report and three audit entries, the
chain valid), 20 open ones, then times the pages through Django's full request stack in-process
(no network). Target (product.md §7): p95 ≤ 50 ms; for the incident page, or at most 2.5× the
API's detail of the same incident measured in the same run (issue 11).

    python benchmarks/pages.py [--incidents 100000] [--requests 200]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import percentile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="yingji-pages-")
    os.environ["YINGJI_DATA_DIR"] = tmp
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "yingji.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from yingji.core import audit, clock
    from yingji.core.demo import load_demo
    from yingji.core.models import AuditEntry
    from yingji.incidents.models import Incident, Report
    from yingji.plans.store import published

    call_command("migrate", verbosity=0)
    load_demo("zh")
    version_id = published()[0]  # type: ignore[index]
    seed_started = time.monotonic()
    now = clock.now()
    prev = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first() or audit.GENESIS
    batch = 5000
    systems = ["HIS", "LIS", "PACS", "EMR", "INS", "APPT", "MNIS"]
    for start in range(0, args.incidents, batch):
        incidents = []
        for i in range(start, min(start + batch, args.incidents)):
            at = now - timedelta(minutes=10 * (args.incidents - i))
            incidents.append(Incident(
                number=f"H{i:07d}", plan_version_id=version_id, system=systems[i % len(systems)], title="历史故障",
                status=Incident.Status.CLOSED, fault_class="III", response_level="3", duration_level="IV",
                category="DETECH", national_grade="general", reports_count=1, reported_at=at, last_report_at=at,
                acknowledged_at=at + timedelta(minutes=3), restored_at=at + timedelta(minutes=25),
                closed_at=at + timedelta(minutes=40)))
        Incident.objects.bulk_create(incidents)
        saved = list(Incident.objects.filter(number__in=[x.number for x in incidents]).values_list(
            "id", "number", "reported_at"))
        Report.objects.bulk_create(Report(number=f"HR{n[1:]}", access_key=f"k{n}", incident_id=pk, system="HIS",
                                          symptom="历史故障", reported_at=at) for pk, n, at in saved)
        entries = []
        for pk, number, at in saved:
            for action, data in (("incident.opened", {"number": number}), ("incident.acknowledged", {}),
                                 ("incident.closed", {"note": ""})):
                digest = audit.entry_hash(prev, at, "seed", action, "incident", pk, data)
                entries.append(AuditEntry(at=at, actor="seed", action=action, subject_type="incident",
                                          subject_id=pk, data=data, prev_hash=prev, hash=digest,
                                          mac=audit.entry_mac(digest)))
                prev = digest
        AuditEntry.objects.bulk_create(entries)
    seed_s = time.monotonic() - seed_started

    # Some live work on top of the history: open incidents with reports, one activated.
    from yingji.accounts.models import User
    from yingji.incidents import actions

    nurse, engineer, dean = (User.objects.get(username=u) for u in ("nurse-wang", "eng-duty", "dean"))
    live = None
    for k in range(20):
        intake = actions.report_fault(nurse, system=systems[k % len(systems)], symptom="无法保存",
                                      location=f"病区{k}", scope="hospital" if k == 0 else "")
        live = live or intake.incident
    for _ in range(30):
        actions.report_fault(nurse, system="HIS", symptom="无法进入程序", location="门诊")
    assert live is not None
    actions.acknowledge(engineer, live)
    actions.activate(dean, live)

    client = Client()
    client.force_login(User.objects.get(username="info-director"))
    results = {}
    for name, path in (("dashboard", "/"), ("incident_page", f"/incidents/{live.number}"),
                       ("incident_list", "/incidents/?page=500"), ("api_incident", f"/api/v1/incidents/{live.pk}")):
        if name == "api_incident":
            from yingji.accounts.models import ApiToken

            _, token = ApiToken.issue(engineer, "bench")
            headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        else:
            headers = {}
        for _ in range(5):
            client.get(path, **headers)
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(path, **headers)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        results[name] = {"p50_ms": round(percentile(times, 50), 2), "p95_ms": round(percentile(times, 95), 2),
                         "max_ms": round(max(times), 2)}
    verified = audit.verify()
    print(json.dumps({"benchmark": "pages", "database": "sqlite", "incidents": Incident.objects.count(),
                      "audit_entries": verified.checked, "audit_chain_ok": verified.ok, "seed_s": round(seed_s, 1),
                      "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
                      # Issue 11's bound on a slow machine: the page at most 2.5x the unchanged API detail.
                      "incident_page_to_api_p95": round(results["incident_page"]["p95_ms"]
                                                        / results["api_incident"]["p95_ms"], 2),
                      **results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
