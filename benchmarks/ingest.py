"""Alert and report intake, side by side in one run, on the embedded install (SQLite) through
`yingji run` on loopback, and Debian's Alertmanager ingesting the same alerts on the same machine.

1. Alert storm: 2,000 hosts x 10 alerts as Alertmanager webhooks of 500 alerts each, posted by 8
   threads. `alerts_per_s` = alerts answered 202 (on disk) per second; then the worker turns them
   into alerts and one incident (checked, not timed). `alertmanager_alerts_per_s`: the same
   alerts posted to Alertmanager's API v2 in the same batches by the same threads.
2. First page: one group of 50 alerts; `first_page_ms` = the first page's time minus the payload's
   arrival minus the plan's `group_wait` (both times from Yingji's own rows).
3. Report storm: 5,000 workstations (50 connections) report the HIS outage at once: every report
   answered 202 and stored, all merged by the worker into one incident, and how long that took.
4. Reports: 16 connections (2 processes x 8 threads) call /healthz for `--seconds`, then post
   fault reports for as long: `reports_per_s`, `healthz_per_s`, their ratio and both p99s; then how
   long the worker took to merge the last of them (`merge_lag_s`).

    python benchmarks/ingest.py [--seconds 8]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import percentile, wait
from benchmarks.intake import load
from yingji.core.instance import Instance, free_port
from yingji.plans.loader import template_text

HOSTS, PER_HOST, BATCH, THREADS = 2000, 10, 500, 8
STORM = 5000  # workstations reporting one outage
GROUP_WAIT_S = 1


def alerts() -> list[dict[str, object]]:
    return [{"labels": {"alertname": f"Check{k}", "instance": f"his-app-{h:04d}", "severity": "critical",
                        "system": "HIS"},
             "annotations": {"summary": f"Check{k} failed on his-app-{h:04d}"}}
            for h in range(HOSTS) for k in range(PER_HOST)]


def webhook(batch: list[dict[str, object]], n: int) -> bytes:
    return json.dumps({"version": "4", "status": "firing", "receiver": "yingji", "groupKey": f"storm-{n}",
                       "truncatedAlerts": 0, "commonLabels": {}, "groupLabels": {}, "alerts": [
                           {**a, "status": "firing", "startsAt": "2026-12-02T07:00:00Z",
                            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"{a['labels']['alertname']}-"  # type: ignore[index]
                            f"{a['labels']['instance']}"} for a in batch]}).encode()  # type: ignore[index]


def post_all(port: int, path: str, bodies: list[bytes], ok: int) -> tuple[float, int]:
    """Post every body over THREADS keep-alive connections; (seconds, failures)."""
    queue = list(enumerate(bodies))
    lock, failures = threading.Lock(), [0]

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not queue:
                    return
                _, body = queue.pop()
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status != ok:
                with lock:
                    failures[0] += 1

    started = time.perf_counter()
    pool = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started, failures[0]


def alertmanager(tmp: Path, batches: list[list[dict[str, object]]]) -> float | None:
    if not shutil.which("prometheus-alertmanager"):
        return None
    port = free_port()
    (tmp / "am.yml").write_text(yaml.safe_dump({"route": {"receiver": "none", "group_wait": "30s"},
                                                "receivers": [{"name": "none"}]}))
    process = subprocess.Popen(["prometheus-alertmanager", f"--config.file={tmp / 'am.yml'}",
                                f"--storage.path={tmp / 'am'}", f"--web.listen-address=127.0.0.1:{port}",
                                "--cluster.listen-address="], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/-/ready")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        bodies = [json.dumps(batch).encode() for batch in batches]
        seconds, failures = post_all(port, "/api/v2/alerts", bodies, 200)
        assert not failures, f"{failures} batches refused by Alertmanager"
        return HOSTS * PER_HOST / seconds
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--web-workers", type=int, default=1, help="web processes (yingji run's default on SQLite: 1)")
    parser.add_argument("--web-threads", type=int, default=8, help="threads per web process (the default: 8)")
    args = parser.parse_args()
    every = alerts()
    batches = [every[i:i + BATCH] for i in range(0, len(every), BATCH)]
    with tempfile.TemporaryDirectory(prefix="yingji-ingest-") as tmp:
        plan = yaml.safe_load(template_text("zh"))
        plan["monitoring"]["group_wait"] = f"{GROUP_WAIT_S}s"
        instance = Instance(Path(tmp) / "yingji")
        instance.data_dir.mkdir()
        token = instance.setup(plan_text=yaml.safe_dump(plan, allow_unicode=True))
        printed = instance.cli("integration", "add", "alertmanager", "bench")
        path = "/integrations/" + printed.split("/integrations/", 1)[1]
        instance.start(workers=args.web_workers, threads=args.web_threads, worker=True)
        db = sqlite3.connect(instance.sqlite_path, timeout=30)
        try:
            # The worker running, not starting (on a slow day its start-up alone outlasts group_wait).
            wait(db, "SELECT count(*) FROM timers_workerheartbeat", 1, 60, 0.05)
            # First page after one group (LIS), before the storm.
            group = [{**a, "labels": {**a["labels"], "system": "LIS", "instance": f"lis-{n}"}}  # type: ignore[dict-item]
                     for n, a in enumerate(every[:50])]
            post_all(instance.port, path, [webhook(group, -1)], 202)
            wait(db, "SELECT count(*) FROM notify_message WHERE kind = 'page'", 1, 60)
            received = datetime.fromisoformat(db.execute("SELECT min(received_at) FROM alerts_intake").fetchone()[0])
            paged = datetime.fromisoformat(db.execute(
                "SELECT min(created_at) FROM notify_message WHERE kind = 'page'").fetchone()[0])
            first_page_ms = (paged - received).total_seconds() * 1000 - GROUP_WAIT_S * 1000

            seconds, failures = post_all(instance.port, path, [webhook(b, n) for n, b in enumerate(batches)], 202)
            alerts_per_s = HOSTS * PER_HOST / seconds
            stored = wait(db, "SELECT count(*) FROM alerts_alert WHERE system = 'HIS'", HOSTS * PER_HOST)
            his_incidents = wait(db, "SELECT count(*) FROM incidents_incident WHERE system = 'HIS'", 1, 30)
            attached = wait(db, "SELECT count(*) FROM alerts_alert WHERE system = 'HIS' AND incident_id IS NOT NULL",
                            HOSTS * PER_HOST, 60)

            storm = report_storm(instance.port, token, db)
            # /healthz first, while the worker is idle, so that the merge of the sustained reports
            # running behind them cannot slow the yardstick and flatter the ratio.
            health, health_p99 = healthz(instance.port, args.seconds)
            before = db.execute("SELECT max(id) FROM incidents_report").fetchone()[0]
            reports_lat, report_errors, report_s = load(instance.port, token, 2, 8, 0, args.seconds)
            accepted_at = time.monotonic()
            wait(db, "SELECT count(*) FROM incidents_report WHERE incident_id IS NULL", 0, 120, 0.05, below=True)
            merge_lag_s = time.monotonic() - accepted_at
            sustained = db.execute(f"SELECT count(*) FROM incidents_report WHERE id > {before}").fetchone()[0]
        finally:
            instance.kill()
            db.close()
        am_rate = alertmanager(Path(tmp), batches)
    reports_per_s = len(reports_lat) / report_s
    print(json.dumps({
        "benchmark": "ingest", "date": time.strftime("%Y-%m-%d"),
        "server": f"yingji run, {args.web_workers} x {args.web_threads} threads",
        "machine": f"{platform.machine()} {multiprocessing.cpu_count()} cores, Python {platform.python_version()}",
        "alerts": HOSTS * PER_HOST, "batch": BATCH, "alerts_per_s": round(alerts_per_s, 1),
        "alert_post_failures": failures, "alertmanager_alerts_per_s": round(am_rate, 1) if am_rate else None,
        "ratio_to_alertmanager": round(alerts_per_s / am_rate, 2) if am_rate else None,
        "stored": stored, "his_incidents": his_incidents, "attached": attached,
        "first_page_ms": round(first_page_ms, 1), "group_wait_s": GROUP_WAIT_S,
        **storm,
        "reports_per_s": round(reports_per_s, 1), "report_errors": report_errors, "reports_stored": sustained,
        "reports_answered": len(reports_lat), "merge_lag_s": round(merge_lag_s, 2),
        "reports_p99_ms": round(percentile(reports_lat, 99), 2), "healthz_per_s": round(health, 1),
        "healthz_p99_ms": round(health_p99, 2),
        "reports_to_healthz": round(reports_per_s / health, 3) if health else None}))


def report_storm(port: int, token: str, db: sqlite3.Connection) -> dict[str, object]:
    """5,000 workstations report the HIS outage at once (2 processes x 25 threads x 100 reports):
    how fast they are answered, how long until the worker merged the last one, and into how many
    incidents (the alert storm's HIS incident is open, so the answer is that one)."""
    before = db.execute("SELECT coalesce(max(id), 0) FROM incidents_report").fetchone()[0]
    latencies, errors, seconds = load(port, token, 2, 25, STORM // 50, None)
    answered_at = time.monotonic()
    merged = wait(db, f"SELECT count(*) FROM incidents_report WHERE id > {before} AND incident_id IS NOT NULL",
                  len(latencies), 300, 0.05)
    merged_s = time.monotonic() - answered_at
    stored, incidents = db.execute(f"SELECT count(*), count(DISTINCT incident_id) FROM incidents_report "
                                   f"WHERE id > {before}").fetchone()
    return {"storm_reports": STORM, "storm_answered": len(latencies), "storm_errors": errors,
            "storm_stored": stored, "storm_merged": merged, "storm_incidents": incidents,
            "storm_reports_per_s": round(len(latencies) / seconds, 1),
            "storm_p99_ms": round(percentile(latencies, 99), 1), "storm_merged_after_s": round(merged_s, 2)}


def healthz_process(job: tuple[int, float]) -> list[float]:
    port, seconds = job
    latencies: list[float] = []
    until = time.monotonic() + seconds

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < until:
            started = time.perf_counter()
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            latencies.append((time.perf_counter() - started) * 1000)

    pool = [threading.Thread(target=run) for _ in range(8)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies


def healthz(port: int, seconds: float) -> tuple[float, float]:
    """Requests per second to /healthz from the same 2 processes x 8 threads the reports used, and
    their p99 (ms): what the same 16 connections wait for a request that does nothing."""
    started = time.monotonic()
    with multiprocessing.Pool(2) as pool:
        latencies = [lat for part in pool.map(healthz_process, [(port, seconds)] * 2) for lat in part]
    return len(latencies) / (time.monotonic() - started), percentile(latencies, 99)


if __name__ == "__main__":
    main()
