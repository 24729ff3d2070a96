"""Timers fire once in effect: across kill -9 between claim and commit, and with two workers on PostgreSQL."""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from yingji.core.instance import Instance, fresh_postgres_database
from yingji.core.sinks import HttpSink

from .fastplan import fast_plan_text

pytestmark = pytest.mark.slow


def wait_for(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.sqlite_only
def test_a_worker_killed_between_claim_and_commit_fires_the_timer_once(tmp_path: Path) -> None:
    import sqlite3

    instance = Instance(tmp_path)
    instance.setup()
    instance.cli("timers", "probe", "1", "--start-in", "0")
    db = sqlite3.connect(instance.sqlite_path)

    def timer() -> tuple[str, int]:
        return db.execute("SELECT state, attempts FROM timers_timer WHERE kind='probe'").fetchone()

    doomed = instance.worker(YINGJI_FAULT_PAUSE_AFTER_CLAIM_S="30", YINGJI_LEASE_S="2")
    wait_for(lambda: timer()[1] == 1)  # claimed, and now asleep before its commit
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    assert timer() == ("pending", 1)
    survivor = instance.worker(YINGJI_LEASE_S="2")
    try:
        wait_for(lambda: timer()[0] == "fired")  # after the dead claim's lease ran out
        time.sleep(1)
    finally:
        survivor.terminate()
        survivor.wait()
    assert timer() == ("fired", 2)
    fired = db.execute("SELECT COUNT(*) FROM core_auditentry WHERE action='timer.probe'").fetchone()[0]
    assert fired == 1
    assert instance.cli("audit", "verify").startswith("audit chain intact")


@pytest.fixture
def pg_database() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("runs in the PostgreSQL pass (scripts/with_postgres.py)")
    with fresh_postgres_database(url) as database:
        yield database


def test_two_workers_on_postgresql_never_fire_or_deliver_twice(tmp_path: Path, pg_database: str) -> None:
    with HttpSink() as sink:
        instance = Instance(tmp_path, database_url=pg_database)
        token = instance.setup(role="engineer", plan_text=fast_plan_text(sink.port))
        instance.cli("timers", "probe", "400", "--within", "3", "--start-in", "1")
        instance.start(workers=1, threads=4, worker=False)
        workers = [instance.worker(YINGJI_WORKER_POLL_S="0.05") for _ in range(2)]
        try:
            for system in ["HIS", "LIS", "PACS", "EMR", "INS", "APPT", "MNIS"]:
                conn = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=10)
                conn.request("POST", "/api/v1/incidents", json.dumps({"system": system, "symptom": "down"}),
                             {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                assert conn.getresponse().status == 202

            def count(sql: str) -> int:
                with psycopg.connect(pg_database) as db:
                    return int(db.execute(sql).fetchone()[0])  # type: ignore[index]

            wait_for(lambda: count("SELECT COUNT(*) FROM timers_timer WHERE kind='probe' AND state='fired'") == 400)
            # Escalation pages after 2 s without acknowledgement, then every delivery sent.
            wait_for(lambda: count("SELECT COUNT(*) FROM notify_message WHERE kind='escalation'") >= 7
                     and count("SELECT COUNT(*) FROM notify_delivery WHERE state='queued'") == 0)
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait()
            instance.kill()
        assert count("SELECT COUNT(*) FROM core_auditentry WHERE action='timer.probe'") == 400
        assert count("SELECT COUNT(DISTINCT subject_id) FROM core_auditentry WHERE action='timer.probe'") == 400
        # Each fired acknowledge deadline ran its handler (breach + next page) exactly once.
        breaches = count("SELECT COUNT(*) FROM core_auditentry WHERE action='timer.breached' "
                         "AND data->>'deadline' = 'acknowledge'")
        assert breaches == count("SELECT COUNT(*) FROM timers_timer WHERE kind='ack' AND state='fired'") >= 7
        sms_sent = count("SELECT COUNT(*) FROM notify_delivery WHERE channel='sms' AND state='sent'")
        bodies = [json.dumps(body, sort_keys=True) for path, body in sink.requests if path.startswith("/sms")]
        assert sms_sent > 0 and len(bodies) == sms_sent and len(set(bodies)) == len(bodies)
