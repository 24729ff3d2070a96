"""The notifiers Yingji ships, run the way the monitors run them, against a real `yingji run`:
the Zabbix media type's script under Debian's `zabbix_js` (Zabbix's own engine) for a problem, an
update and a recovery, and the Nagios / Icinga notifier with the arguments and the environment
the daemons pass, for a host and a service, problem and recovery."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from yingji.core.instance import Instance

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]

SHIPPED = Path(__file__).resolve().parent.parent / "yingji" / "alerts" / "shipped"


@pytest.fixture(scope="module")
def yingji(tmp_path_factory: pytest.TempPathFactory) -> Instance:
    instance = Instance(tmp_path_factory.mktemp("yingji"))
    instance.setup()
    instance.start(worker=True)
    yield instance
    instance.kill()


def url(instance: Instance, kind: str, name: str) -> str:
    printed = instance.cli("integration", "add", kind, name)
    return f"http://127.0.0.1:{instance.port}/integrations/" + printed.split("/integrations/", 1)[1]


def alerts(instance: Instance, fingerprint: str) -> list[tuple[str, str, str]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with sqlite3.connect(instance.sqlite_path, timeout=10) as db:
            rows = list(db.execute("SELECT status, title, system FROM alerts_alert WHERE fingerprint = ?",
                                   (fingerprint,)))
            pending = db.execute("SELECT count(*) FROM alerts_intake WHERE state = 'pending'").fetchone()[0]
        if rows and not pending:
            return rows
        time.sleep(0.2)
    return []


def test_the_media_type_yaml_carries_the_script_beside_it() -> None:
    media = yaml.safe_load((SHIPPED / "zabbix" / "media_yingji.yaml").read_text(encoding="utf-8"))
    [yingji_media] = media["zabbix_export"]["media_types"]
    assert yingji_media["type"] == "WEBHOOK"
    assert yingji_media["script"] == (SHIPPED / "zabbix" / "yingji.js").read_text(encoding="utf-8")
    names = {p["name"] for p in yingji_media["parameters"]}
    assert {"url", "event_id", "event_value", "event_nseverity", "host", "event_tags"} <= names
    assert {t["operation_mode"] for t in yingji_media["message_templates"]} == {"PROBLEM", "RECOVERY", "UPDATE"}


@pytest.mark.skipif(not shutil.which("zabbix_js"), reason="Debian's zabbix-server-pgsql (zabbix_js) is not installed")
def test_the_zabbix_media_type_sends_a_problem_an_update_and_a_recovery(yingji: Instance, tmp_path: Path) -> None:
    script = SHIPPED / "zabbix" / "yingji.js"
    target = url(yingji, "zabbix", "zabbix-main")
    # The parameters as Zabbix expands the media type's macros for a problem event.
    problem = {"url": target, "http_proxy": "{$YINGJI.PROXY}", "event_id": "90210", "event_value": "1",
               "event_update": "0", "event_ack": "No", "event_nseverity": "5", "event_severity": "Disaster",
               "event_name": "MySQL is down on db-01", "event_opdata": "", "event_recovery_id": "{EVENT.RECOVERY.ID}",
               "event_tags": json.dumps([{"tag": "system", "value": "DB"}, {"tag": "service", "value": "mysql"}]),
               "host": "db-01", "host_name": "HIS 数据库 01", "host_ip": "10.0.0.21",
               "host_groups": "Databases, HIS", "trigger_id": "31337"}

    def run(params: dict[str, str]) -> subprocess.CompletedProcess[str]:
        (tmp_path / "params.json").write_text(json.dumps(params, ensure_ascii=False), encoding="utf-8")
        return subprocess.run(["zabbix_js", "-s", str(script), "-i", str(tmp_path / "params.json")],
                              capture_output=True, text=True, timeout=30)

    done = run(problem)
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr
    assert alerts(yingji, "zabbix:90210") == [("firing", "MySQL is down on db-01", "DB")]
    assert run({**problem, "event_update": "1", "event_ack": "Yes"}).returncode == 0  # acknowledged in Zabbix
    assert alerts(yingji, "zabbix:90210")[0][0] == "firing"
    assert run({**problem, "event_value": "0", "event_recovery_id": "90299"}).returncode == 0
    assert alerts(yingji, "zabbix:90210")[0][0] == "resolved"
    refused = run({**problem, "event_value": "{EVENT.VALUE}"})  # a broken media type: Zabbix shows why
    assert refused.returncode != 0 and "400" in refused.stdout + refused.stderr


def notify(target: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NAGIOS_", "NOTIFICATION", "HOST", "SERVICE"))}
    return subprocess.run([sys.executable, str(SHIPPED / "yingji_notify.py"), *args],
                          env={**clean, "YINGJI_URL": target, **env}, capture_output=True, text=True, timeout=60)


def test_nagios_host_notifications_by_environment_macros(yingji: Instance) -> None:
    target = url(yingji, "nagios", "nagios-main")
    down = {"NAGIOS_NOTIFICATIONTYPE": "PROBLEM", "NAGIOS_HOSTNAME": "core-sw-1", "NAGIOS_HOSTADDRESS": "10.0.0.1",
            "NAGIOS_HOSTSTATE": "DOWN", "NAGIOS_HOSTSTATEID": "1",
            "NAGIOS_HOSTOUTPUT": "PING CRITICAL - Packet loss = 100%", "NAGIOS_HOSTPROBLEMID": "412",
            "NAGIOS_SERVICEDESC": "", "NAGIOS_LONGDATETIME": "Wed Dec 2 07:30:00 CST 2026"}
    assert notify(target, down).returncode == 0
    assert alerts(yingji, "nagios:core-sw-1") == [("firing", "core-sw-1: DOWN", "")]
    up = {**down, "NAGIOS_NOTIFICATIONTYPE": "RECOVERY", "NAGIOS_HOSTSTATE": "UP", "NAGIOS_HOSTPROBLEMID": "0",
          "NAGIOS_LASTHOSTPROBLEMID": "412", "NAGIOS_HOSTOUTPUT": "PING OK"}
    assert notify(target, up).returncode == 0
    assert alerts(yingji, "nagios:core-sw-1")[0][0] == "resolved"


def test_icinga_service_notifications_by_its_environment_and_nagios_by_arguments(yingji: Instance) -> None:
    target = url(yingji, "nagios", "icinga-main")
    # What Icinga 2's mail-service-notification command puts in the environment.
    critical = {"NOTIFICATIONTYPE": "PROBLEM", "HOSTNAME": "his-app-01", "HOSTDISPLAYNAME": "HIS app 01",
                "HOSTADDRESS": "10.0.1.11", "SERVICENAME": "http", "SERVICEDISPLAYNAME": "HIS web",
                "SERVICESTATE": "CRITICAL", "SERVICEOUTPUT": 'HTTP CRITICAL: "connection refused"\nline 2',
                "LONGDATETIME": "2026-12-02 07:31:00 +0800", "NOTIFICATIONAUTHORNAME": "",
                "NOTIFICATIONCOMMENT": ""}
    assert notify(target, critical).returncode == 0
    assert alerts(yingji, "nagios:his-app-01/http") == [("firing", "http on his-app-01: CRITICAL", "")]
    assert notify(target, {**critical, "NOTIFICATIONTYPE": "RECOVERY", "SERVICESTATE": "OK"}).returncode == 0
    assert alerts(yingji, "nagios:his-app-01/http")[0][0] == "resolved"
    # Nagios's notification command, macros as arguments.
    done = notify(target, {}, "--type", "PROBLEM", "--host", "lis-01", "--service", "disk /", "--state", "WARNING",
                  "--output", "DISK WARNING - free space: / 9%", "--problem-id", "77")
    assert done.returncode == 0, done.stderr
    assert alerts(yingji, "nagios:lis-01/disk /")[0][:2] == ("firing", "disk / on lis-01: WARNING")
    refused = notify(target, {}, "--type", "PROBLEM", "--host", "", "--state", "DOWN")
    assert refused.returncode == 1 and "host" in refused.stderr
