"""Timer precision: 10,000 timers due within one minute, fired by real `yingji worker` processes.

For each configuration (1 worker on SQLite; 2 workers on PostgreSQL when DATABASE_URL points at
a server — run it as `python scripts/with_postgres.py python benchmarks/timers.py`), schedules
probe timers with `yingji timers probe`, waits until every one has fired, and reports lateness
(finished_at - due_at), lost (never fired) and duplicated (fired more than once, counted from the
audit entries each firing writes). Target (product.md §7): p99 ≤ 250 ms, 0 lost, 0 duplicated.

    python benchmarks/timers.py [--count 10000] [--within 60]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import percentile
from yingji.core.instance import Instance, fresh_postgres_database

LATENESS = "SELECT due_at, finished_at FROM timers_timer WHERE kind='probe' AND state='fired'"
BEATING = "SELECT COUNT(*) FROM timers_workerheartbeat"
COUNTS = ("SELECT (SELECT COUNT(*) FROM timers_timer WHERE kind='probe' AND state<>'fired'),"
          " (SELECT COUNT(*) FROM core_auditentry WHERE action='timer.probe'),"
          " (SELECT COUNT(DISTINCT subject_id) FROM core_auditentry WHERE action='timer.probe')")


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def run(instance: Instance, query: Callable[[str], list[tuple[Any, ...]]], workers: int, count: int,
        within: float) -> dict[str, Any]:
    instance.setup()
    procs = [instance.worker() for _ in range(workers)]
    try:
        # Measure steady running, not process start-up: schedule once every worker has beaten.
        while query(BEATING)[0][0] < workers:
            time.sleep(0.2)
        instance.cli("timers", "probe", str(count), "--within", str(within), "--start-in", "5")
        deadline = time.monotonic() + within + 120
        while time.monotonic() < deadline and query(COUNTS)[0][0] > 0:
            time.sleep(1)
        time.sleep(2)  # let a duplicate, if any, show up
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
    late = [(_as_datetime(f) - _as_datetime(d)).total_seconds() * 1000 for d, f in query(LATENESS)]
    unfired, firings, distinct = query(COUNTS)[0]
    return {"workers": workers, "timers": count, "within_s": within, "fired": len(late),
            "p50_ms": round(percentile(late, 50), 1), "p99_ms": round(percentile(late, 99), 1),
            "max_ms": round(max(late), 1) if late else None, "lost": unfired, "duplicated": firings - distinct}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--within", type=float, default=60)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="yingji-bench-") as tmp:
        instance = Instance(Path(tmp) / "sqlite")
        instance.data_dir.mkdir()

        def sqlite_query(sql: str) -> list[tuple[Any, ...]]:
            with sqlite3.connect(instance.sqlite_path) as db:
                return db.execute(sql).fetchall()

        results["sqlite_1_worker"] = run(instance, sqlite_query, 1, args.count, args.within)
        server = os.environ.get("DATABASE_URL", "")
        if server.startswith("postgres"):
            import psycopg

            with fresh_postgres_database(server) as url:
                pg = Instance(Path(tmp) / "pg", database_url=url)
                pg.data_dir.mkdir()

                def pg_query(sql: str) -> list[tuple[Any, ...]]:
                    with psycopg.connect(url) as db:
                        return db.execute(sql).fetchall()  # type: ignore[arg-type]

                results["postgresql_2_workers"] = run(pg, pg_query, 2, args.count, args.within)
        else:
            results["postgresql_2_workers"] = "skipped: run under scripts/with_postgres.py"
    print(json.dumps({"benchmark": "timers",
                      "machine": f"{platform.machine()} {multiprocessing.cpu_count()} cores, "
                                 f"Python {platform.python_version()}", **results}))


if __name__ == "__main__":
    main()
