"""The real thing: Debian's Prometheus scrapes a tiny exporter on loopback, an alert rule fires when
the exporter stops, Debian's Alertmanager groups it and posts to a real `yingji run`, whose worker
opens an incident and pages; the exporter comes back and the incident shows every alert resolved.
Both daemons are installed without their services starting (scripts/install-system-deps) and run
here on loopback only."""

from __future__ import annotations

import http.server
import shutil
import socketserver
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from yingji.core.instance import Instance, free_port
from yingji.plans.loader import template_text

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only,
              pytest.mark.skipif(not (shutil.which("prometheus") and shutil.which("prometheus-alertmanager")),
                                 reason="Debian's prometheus and prometheus-alertmanager are not installed")]


class Exporter:
    """A one-metric exporter Prometheus scrapes; stopping it is the outage."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server: socketserver.TCPServer | None = None

    def start(self) -> None:
        class Metrics(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b"his_app_up 1\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        socketserver.TCPServer.allow_reuse_address = True
        self.server = socketserver.TCPServer(("127.0.0.1", self.port), Metrics)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@contextmanager
def daemon(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for(what: str, ready: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def test_prometheus_and_alertmanager_open_and_resolve_an_incident(tmp_path: Path) -> None:
    plan = yaml.safe_load(template_text("zh"))
    plan["monitoring"]["group_wait"] = "2s"
    instance = Instance(tmp_path / "yingji")
    instance.data_dir.mkdir()
    instance.setup(plan_text=yaml.safe_dump(plan, allow_unicode=True))
    url = instance.cli("integration", "add", "alertmanager", "prometheus-main")
    webhook = f"http://127.0.0.1:{instance.port}/integrations/" + url.split("/integrations/", 1)[1]

    exporter = Exporter()
    exporter.start()
    am_port, prom_port = free_port(), free_port()
    (tmp_path / "am.yml").write_text(yaml.safe_dump({
        "route": {"receiver": "yingji", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "2s",
                  "repeat_interval": "1h"},
        "receivers": [{"name": "yingji", "webhook_configs": [{"url": webhook, "send_resolved": True}]}]}))
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "his", "rules": [{
        "alert": "HisAppDown", "expr": 'up{job="his-app"} == 0', "for": "0s",
        "labels": {"severity": "critical", "system": "HIS"},
        "annotations": {"summary": "HIS application server {{ $labels.instance }} is down"}}]}]}))
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "500ms"},
        "rule_files": [str(tmp_path / "rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [{"job_name": "his-app", "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"]}]}]}))
    db = sqlite3.connect(instance.sqlite_path, timeout=10)

    def rows(sql: str) -> list[tuple[object, ...]]:
        return list(db.execute(sql))

    am = ["prometheus-alertmanager", f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am'}",
          f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="]
    prom = ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}"]
    instance.start(worker=True)
    try:
        with daemon(am, tmp_path / "am.log"), daemon(prom, tmp_path / "prom.log"):
            time.sleep(3)  # a few healthy scrapes first
            assert not rows("SELECT id FROM incidents_incident")
            exporter.stop()  # the outage
            wait_for("the incident", lambda: bool(rows("SELECT id FROM incidents_incident WHERE system = 'HIS'")))
            [(incident, status)] = rows("SELECT id, status FROM incidents_incident")
            assert status == "reported"
            [(channel,)] = rows(f"SELECT channel FROM incidents_report WHERE incident_id = {incident}")
            assert channel == "monitor"
            alerts = rows(f"SELECT status, title FROM alerts_alert WHERE incident_id = {incident}")
            assert alerts and alerts[0][0] == "firing" and "is down" in str(alerts[0][1])
            assert rows(f"SELECT id FROM notify_message WHERE incident_id = {incident} AND kind = 'page'")
            exporter.start()  # the server is back, on the same port
            wait_for("every alert resolved", lambda: bool(rows(
                f"SELECT id FROM core_auditentry WHERE action = 'alerts.resolved' AND subject_id = {incident}")))
            assert rows(f"SELECT status FROM alerts_alert WHERE incident_id = {incident}") == [("resolved",)]
    finally:
        exporter.stop()
        instance.kill()
        db.close()
    assert instance.cli("audit", "verify").startswith("audit chain intact")
