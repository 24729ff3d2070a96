"""The real thing: Debian's Prometheus scrapes a tiny exporter on loopback, an alert rule fires when
the exporter stops, Debian's Alertmanager groups it and posts to a real `yingji run`, whose worker
opens an incident and pages; the exporter comes back and the incident shows every alert resolved.
Both daemons are installed without their services starting (scripts/install-system-deps) and run
here on loopback only."""

from __future__ import annotations

import http.server
import json
import shutil
import socketserver
import sqlite3
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
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


def rule(alert: str, job: str, system: str) -> dict[str, object]:
    return {"alert": alert, "expr": f'up{{job="{job}"}} == 0', "for": "0s",
            "labels": {"severity": "critical", "system": system},
            "annotations": {"summary": f"{alert}: {{{{ $labels.instance }}}} is down"}}


def yingji_with_an_integration(tmp_path: Path) -> tuple[Instance, str]:
    plan = yaml.safe_load(template_text("zh"))
    plan["monitoring"]["group_wait"] = "2s"
    instance = Instance(tmp_path / "yingji")
    instance.data_dir.mkdir()
    instance.setup(plan_text=yaml.safe_dump(plan, allow_unicode=True))
    url = instance.cli("integration", "add", "alertmanager", "prometheus-main")
    return instance, f"http://127.0.0.1:{instance.port}/integrations/" + url.split("/integrations/", 1)[1]


def monitors(tmp_path: Path, webhook: str, exporters: dict[str, Exporter], rules: list[dict[str, object]],
             group_wait: str = "1s",
             inhibit: list[dict[str, object]] | None = None) -> tuple[list[str], list[str], int]:
    """Alertmanager and Prometheus command lines (and Alertmanager's port) for these exporters (job
    name → exporter) and rules, posting to Yingji's webhook."""
    am_port, prom_port = free_port(), free_port()
    (tmp_path / "am.yml").write_text(yaml.safe_dump({
        "route": {"receiver": "yingji", "group_by": ["alertname"], "group_wait": group_wait, "group_interval": "2s",
                  "repeat_interval": "1h"},
        "receivers": [{"name": "yingji", "webhook_configs": [{"url": webhook, "send_resolved": True}]}],
        "inhibit_rules": inhibit or []}))
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "hospital", "rules": rules}]}))
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "500ms"},
        "rule_files": [str(tmp_path / "rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"]}]}
                           for job, exporter in exporters.items()]}))
    am = ["prometheus-alertmanager", f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am'}",
          f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="]
    prom = ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}"]
    return am, prom, am_port


def test_prometheus_and_alertmanager_open_and_resolve_an_incident(tmp_path: Path) -> None:
    instance, webhook = yingji_with_an_integration(tmp_path)
    exporter = Exporter()
    exporter.start()
    am, prom, _am_port = monitors(tmp_path, webhook, {"his-app": exporter}, [rule("HisAppDown", "his-app", "HIS")])
    db = sqlite3.connect(instance.sqlite_path, timeout=10)

    def rows(sql: str) -> list[tuple[object, ...]]:
        return list(db.execute(sql))

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


def test_what_alertmanager_silences_or_inhibits_never_reaches_yingji(tmp_path: Path) -> None:
    """The core switch, the HIS application behind it and the LIS server go down together. The
    hospital's Alertmanager has the LIS in a maintenance silence and inhibits HIS alerts while the
    core switch is down: Yingji opens the network incident and sees nothing of the other two,
    while Alertmanager itself holds both, marked silenced and inhibited."""
    instance, webhook = yingji_with_an_integration(tmp_path)
    exporters = {job: Exporter() for job in ("core-switch", "his-app", "lis-app")}
    for exporter in exporters.values():
        exporter.start()
    am, prom, am_port = monitors(
        tmp_path, webhook, exporters,
        [rule("CoreSwitchDown", "core-switch", "NET"), rule("HisAppDown", "his-app", "HIS"),
         rule("LisAppDown", "lis-app", "LIS")],
        group_wait="4s",  # both outages are at Alertmanager before it sends either group
        inhibit=[{"source_matchers": ['alertname="CoreSwitchDown"'], "target_matchers": ['alertname="HisAppDown"']}])
    db = sqlite3.connect(instance.sqlite_path, timeout=10)

    def rows(sql: str) -> list[tuple[object, ...]]:
        return list(db.execute(sql))

    def held_by_alertmanager() -> dict[str, dict[str, object]]:
        with urllib.request.urlopen(f"http://127.0.0.1:{am_port}/api/v2/alerts", timeout=5) as answer:
            return {a["labels"]["alertname"]: a["status"] for a in json.load(answer)}

    instance.start(worker=True)
    try:
        with daemon(am, tmp_path / "am.log"), daemon(prom, tmp_path / "prom.log"):
            wait_for("Alertmanager", lambda: _answers(f"http://127.0.0.1:{am_port}/-/ready"))
            now = datetime.now(UTC)
            silence = urllib.request.Request(
                f"http://127.0.0.1:{am_port}/api/v2/silences", method="POST",
                headers={"Content-Type": "application/json"},
                data=json.dumps({"matchers": [{"name": "alertname", "value": "LisAppDown", "isRegex": False,
                                               "isEqual": True}],
                                 "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat(),
                                 "createdBy": "information center", "comment": "LIS upgrade tonight"}).encode())
            with urllib.request.urlopen(silence, timeout=5) as answer:
                assert answer.status == 200
            time.sleep(3)  # a few healthy scrapes first
            for exporter in exporters.values():
                exporter.stop()  # the outage, all at once
            wait_for("the network incident",
                     lambda: bool(rows("SELECT id FROM incidents_incident WHERE system = 'NET'")))
            wait_for("Alertmanager holding the other two", lambda: {
                name: bool(status["inhibitedBy"] or status["silencedBy"])  # type: ignore[index]
                for name, status in held_by_alertmanager().items()} == {
                "CoreSwitchDown": False, "HisAppDown": True, "LisAppDown": True})
            held = held_by_alertmanager()
            assert held["HisAppDown"]["inhibitedBy"] and held["LisAppDown"]["silencedBy"]
            time.sleep(5)  # past group_wait and group_interval again: whatever Alertmanager would send, it has
            names = {str(r[0]) for r in rows("SELECT labels FROM alerts_alert")}
            assert len(names) == 1 and "CoreSwitchDown" in names.pop()
            assert not rows("SELECT id FROM incidents_incident WHERE system != 'NET'")
    finally:
        for exporter in exporters.values():
            exporter.stop()
        instance.kill()
        db.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
