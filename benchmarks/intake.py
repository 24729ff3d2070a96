"""Fault-report intake on the embedded install (SQLite), through `yingji run` on loopback.

1. Storm: 500 workstations report the same HIS outage at once. Target: one incident.
2. Sustained: client processes post reports back to back for a fixed time. Target (product.md §7):
   ≥ 2,000 reports/s with p99 ≤ 20 ms.

The clients run on the same 2 cores as the server, so they take CPU from it: the numbers are
what this one machine does end to end, not the server alone.

    python benchmarks/intake.py [--seconds 10] [--clients 2] [--threads 8] [--workers 1] [--server-threads 8]
    python benchmarks/intake.py --ceiling [--workers 1|2]

`--ceiling` serves an app that does nothing (benchmarks/empty_wsgi.py) with the same gunicorn
settings and the same clients: the most this machine can carry through gunicorn at all.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import percentile, wait
from yingji.core.instance import Instance, free_port


def post_loop(port: int, token: str, bodies: list[bytes], until: float | None) -> tuple[list[float], int]:
    """Post bodies over one keep-alive connection; return latencies (ms) and the count of answers
    other than 202 (stored) or 201 (the empty app)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies, errors, i = [], 0, 0
    while (until is None and i < len(bodies)) or (until is not None and time.monotonic() < until):
        body = bodies[i % len(bodies)]
        i += 1
        started = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/incidents", body, headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            errors += 1
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status not in (201, 202):
            errors += 1
    return latencies, errors


def client_process(args: tuple[int, str, int, int, float | None, int]) -> tuple[list[float], int]:
    port, token, threads, per_thread, seconds, offset = args
    systems = ["HIS", "LIS", "PACS", "EMR", "INS", "APPT", "MNIS"]
    until = time.monotonic() + seconds if seconds else None
    results: list[tuple[list[float], int]] = []

    def run(t: int) -> None:
        if seconds:  # sustained: many systems, many workstations
            bodies = [json.dumps({"system": systems[(offset + t + k) % len(systems)], "symptom": "无法保存数据",
                                  "location": f"工作站 {offset}-{t}-{k}", "phone": "8001"}).encode()
                      for k in range(50)]
        else:  # storm: everyone reports the same HIS outage from their own workstation
            bodies = [json.dumps({"system": "HIS", "symptom": "无法进入程序",
                                  "location": f"工作站 {offset + t * per_thread + k}"}).encode()
                      for k in range(per_thread)]
        results.append(post_loop(port, token, bodies, until))

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    latencies = [lat for r in results for lat in r[0]]
    return latencies, sum(r[1] for r in results)


def load(port: int, token: str, clients: int, threads: int, per_thread: int,
         seconds: float | None) -> tuple[list[float], int, float]:
    jobs = [(port, token, threads, per_thread, seconds, c * 10_000) for c in range(clients)]
    started = time.monotonic()
    with multiprocessing.Pool(clients) as pool:
        results = pool.map(client_process, jobs)
    elapsed = time.monotonic() - started
    return [lat for r in results for lat in r[0]], sum(r[1] for r in results), elapsed


def ceiling(args: argparse.Namespace) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", str(args.workers),
                               "--threads", str(args.server_threads), "-b", f"127.0.0.1:{port}",
                               "--chdir", str(Path(__file__).parent), "empty_wsgi:application"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        lat, errors, elapsed = load(port, "unused", args.clients, args.threads, 0, args.seconds)
    finally:
        server.terminate()
        server.wait()
    print(json.dumps({
        "benchmark": "intake-ceiling", "app": "empty WSGI app, no Django, no database",
        "machine": f"{platform.machine()} {multiprocessing.cpu_count()} cores, Python {platform.python_version()}",
        "server": f"gunicorn gthread {args.workers}x{args.server_threads}",
        "requests_per_s": round(len(lat) / elapsed, 1), "errors": errors,
        "p50_ms": round(percentile(lat, 50), 2), "p99_ms": round(percentile(lat, 99), 2)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--server-threads", type=int, default=8)
    parser.add_argument("--ceiling", action="store_true", help="measure gunicorn with an empty app")
    args = parser.parse_args()
    if args.ceiling:
        ceiling(args)
        return

    with tempfile.TemporaryDirectory(prefix="yingji-bench-") as tmp:
        instance = Instance(Path(tmp))
        token = instance.setup()
        instance.start(workers=args.workers, threads=args.server_threads)
        try:
            # 500 workstations = 2 processes x 25 threads x 10 reports, all at once.
            storm_lat, storm_err, storm_s = load(instance.port, token, 2, 25, 10, None)
            db = sqlite3.connect(instance.sqlite_path)
            wait(db, "SELECT COUNT(*) FROM incidents_report WHERE incident_id IS NOT NULL", len(storm_lat), 60, 0.05)
            storm_incidents = db.execute("SELECT COUNT(*) FROM incidents_incident").fetchone()[0]
            storm_reports = db.execute("SELECT reports_count FROM incidents_incident").fetchone()[0]
            before = db.execute("SELECT COUNT(*) FROM incidents_report").fetchone()[0]
            lat, errors, elapsed = load(instance.port, token, args.clients, args.threads, 0, args.seconds)
            after = db.execute("SELECT COUNT(*) FROM incidents_report").fetchone()[0]
            incidents = db.execute("SELECT COUNT(*) FROM incidents_incident").fetchone()[0]
        finally:
            instance.kill()
    print(json.dumps({
        "benchmark": "intake", "database": "sqlite",
        "machine": f"{platform.machine()} {multiprocessing.cpu_count()} cores, Python {platform.python_version()}",
        "server": f"gunicorn gthread {args.workers}x{args.server_threads}",
        "storm": {"reports": len(storm_lat), "errors": storm_err, "incidents_created": storm_incidents,
                  "reports_on_incident": storm_reports, "seconds": round(storm_s, 2),
                  "p50_ms": round(percentile(storm_lat, 50), 1), "p99_ms": round(percentile(storm_lat, 99), 1)},
        "sustained": {"seconds": round(elapsed, 2), "reports": len(lat), "stored": after - before, "errors": errors,
                      "reports_per_s": round(len(lat) / elapsed, 1),
                      "p50_ms": round(percentile(lat, 50), 2), "p99_ms": round(percentile(lat, 99), 2),
                      "mean_ms": round(statistics.fmean(lat), 2) if lat else None,
                      "incidents_total": incidents},
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
