"""Alerts from the monitors: the receiver keeps every payload before it answers, the worker turns
them into alerts keyed by fingerprint, a storm becomes one incident after `group_wait`, and a
resolved group says so on the incident."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from yingji.accounts.models import User
from yingji.alerts import actions as alert_actions
from yingji.alerts import intake
from yingji.alerts.models import Alert, Intake, Integration
from yingji.core import clock
from yingji.core.actors import CLI
from yingji.core.models import AuditEntry
from yingji.incidents.models import Incident, Report
from yingji.notify.models import Message
from yingji.timers import service

from .conftest import RESTORE_CHECKS


def am_payload(hosts: list[str], status: str = "firing", alertname: str = "HostDown", severity: str = "critical",
               **labels: str) -> dict[str, Any]:
    """An Alertmanager webhook v4 body: the whole group, as Debian's 0.25 sends it."""
    alerts = [{"status": status, "labels": {"alertname": alertname, "instance": host, "severity": severity, **labels},
               "annotations": {"summary": f"{alertname} on {host}"},
               "startsAt": "2026-11-22T01:20:08.134091606Z",
               "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-22T01:30:00Z",
               "generatorURL": "http://prometheus.local/graph", "fingerprint": f"fp-{alertname}-{host}"}
              for host in hosts]
    return {"receiver": "yingji", "status": status, "alerts": alerts, "groupLabels": {"alertname": alertname},
            "commonLabels": {"alertname": alertname}, "commonAnnotations": {}, "externalURL": "http://am:9093",
            "version": "4", "groupKey": "{}:{alertname=\"" + alertname + "\"}", "truncatedAlerts": 0}


def integration(kind: str = "alertmanager", name: str = "prometheus") -> tuple[Integration, str]:
    heartbeat = {"every": 300, "system": "HIS"} if kind == "heartbeat" else {}
    made, token = alert_actions.add_integration(CLI, kind, name, **heartbeat)  # type: ignore[arg-type]
    return made, alert_actions.url_of(made, token).split("/integrations/", 1)[1]


def post(path: str, body: Any) -> Any:
    return Client().post(f"/integrations/{path}", json.dumps(body) if not isinstance(body, bytes | str) else body,
                         content_type="application/json")


def work_until(moment: Any) -> None:
    clock.freeze(moment)
    intake.process_pending()
    service.run_due()


def test_a_storm_of_host_alerts_is_one_incident_with_every_alert_listed(api: Any) -> None:
    clock.freeze(clock.now())
    _made, path = integration()
    start = clock.now()
    for batch in range(4):  # Alertmanager re-sends the whole, growing group
        hosts = [f"his-app-{n:03d}" for n in range(batch * 50 + 50)]
        answer = post(path, am_payload(hosts, system="HIS"))
        assert answer.status_code == 202 and answer.json()["alerts"] == len(hosts)
    assert Intake.objects.filter(state="pending").count() == 4  # on disk before the worker saw any
    work_until(start + timedelta(seconds=5))
    assert Alert.objects.count() == 200 and not Incident.objects.exists()  # waiting group_wait for the rest
    work_until(start + timedelta(seconds=31))
    [incident] = Incident.objects.all()
    assert incident.system == "HIS" and Alert.objects.filter(incident=incident).count() == 200
    report = Report.objects.get(incident=incident)
    assert report.channel == "monitor"
    assert Message.objects.filter(incident=incident, kind="page").exists()  # paged like a reported one
    detail = api("eng-duty").get(f"/incidents/{incident.pk}").json()
    assert len(detail["alerts"]) == 200 and detail["alerts"][0]["status"] == "firing"
    # A late alert joins at once; re-sending changes nothing.
    post(path, am_payload(["his-app-999"], system="HIS"))
    post(path, am_payload(["his-app-999"], system="HIS"))
    work_until(start + timedelta(seconds=40))
    assert Alert.objects.filter(incident=incident).count() == 201 and Incident.objects.count() == 1
    page = Client()
    page.force_login(User.objects.get(username="eng-duty"))
    html = page.get(f"/incidents/{incident.number}", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'id="alerts"' in html and "his-app-000" in html


def test_alerts_joining_later_are_told_after_group_interval_and_a_firing_group_again_after_repeat_interval(
        api: Any) -> None:
    clock.freeze(clock.now())
    _made, path = integration()
    start = clock.now()
    post(path, am_payload(["his-app-0"], system="HIS"))
    work_until(start + timedelta(seconds=31))
    incident = Incident.objects.get(system="HIS")
    assert Message.objects.filter(incident=incident, kind="page").exists()

    def paged() -> set[str]:  # paged or escalated to: whom its alerts' news is for
        return set(Message.objects.filter(incident=incident, kind__in=("page", "escalation"))
                   .values_list("person", flat=True))

    def updates() -> list[Message]:  # about its alerts (the fix deadline's breach is news of its own)
        return list(Message.objects.filter(incident=incident, kind="update", body__contains="条告警").order_by("id"))

    post(path, am_payload([f"his-app-{n}" for n in range(4)], system="HIS"))  # three more join
    work_until(start + timedelta(seconds=40))
    post(path, am_payload(["his-app-9"], system="HIS"))
    work_until(start + timedelta(seconds=60))
    assert not updates()  # told together, not one page per alert
    work_until(start + timedelta(seconds=40 + 5 * 60))  # the plan's group_interval after the first of them
    joined = updates()  # one message for each person paged
    assert len(joined) == len(paged()) and {m.person for m in joined} == paged()
    assert "又有 4 条告警加入" in joined[0].body and "目前 5 条" in joined[0].body
    work_until(start + timedelta(hours=4, seconds=31))  # repeat_interval after it opened: still firing
    repeats = updates()[len(joined):]
    assert {m.person for m in repeats} == paged() and "仍在告警：本事件有 5 条" in repeats[0].body
    told = len(updates())
    work_until(start + timedelta(hours=8, seconds=32))
    assert len(updates()) == told + len(paged())  # and again, while it fires
    api("eng-duty").post(f"/incidents/{incident.pk}/acknowledge")
    restored = api("eng-duty").post(f"/incidents/{incident.pk}/restore", {"checks": RESTORE_CHECKS})
    assert restored.status_code == 200, restored.content
    told = len(updates())
    work_until(start + timedelta(hours=12, seconds=33))
    assert len(updates()) == told  # restored: nothing more (the reporters' own notice is not an update page)


def test_resolved_alerts_resolve_and_the_incident_says_all_are_resolved(api: Any) -> None:
    clock.freeze(clock.now())
    _made, path = integration()
    hosts = ["db-0", "db-1"]
    post(path, am_payload(hosts, alertname="DatabaseDown", system="DB"))
    work_until(clock.now() + timedelta(seconds=31))
    incident = Incident.objects.get(system="DB")
    partly = am_payload(hosts, alertname="DatabaseDown", system="DB")
    partly["alerts"][0].update(status="resolved", endsAt="2026-11-22T01:30:00Z")  # a part-resolved group
    post(path, partly)
    work_until(clock.now() + timedelta(seconds=1))
    assert Alert.objects.get(fingerprint="fp-DatabaseDown-db-0").status == "resolved"
    assert not AuditEntry.objects.filter(subject_id=incident.pk, action="alerts.resolved").exists()
    post(path, am_payload(hosts, status="resolved", alertname="DatabaseDown", system="DB"))
    work_until(clock.now() + timedelta(seconds=1))
    assert AuditEntry.objects.filter(subject_id=incident.pk, action="alerts.resolved", data__count=2).exists()
    assert Incident.objects.get(pk=incident.pk).status == "reported"  # the engineer restores, not the monitor
    page = Client()
    page.force_login(User.objects.get(username="eng-duty"))
    html = page.get(f"/incidents/{incident.number}", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "data-all-resolved" in html


def publish_monitoring(**changes: Any) -> None:
    import yaml

    from yingji.plans import actions as plan_actions
    from yingji.plans.loader import template_text
    from yingji.plans.store import forget_published

    data = yaml.safe_load(template_text("zh"))
    data["monitoring"].update(changes)
    plan_actions.import_and_publish(CLI, yaml.safe_dump(data, allow_unicode=True), note="monitoring")
    forget_published()


def test_where_the_plan_says_so_the_monitor_restores_what_only_monitors_reported(api: Any) -> None:
    publish_monitoring(resolve_restores=True)
    clock.freeze(clock.now())
    _made, path = integration()

    def outage(host: str, reported_by_a_person: bool) -> Incident:
        post(path, am_payload([host], alertname="DatabaseDown", system="DB"))
        work_until(clock.now() + timedelta(seconds=31))
        incident = Incident.objects.get(system="DB", status="reported")
        if reported_by_a_person:
            api("nurse-wang").post("/incidents", {"system": "DB", "symptom": "数据库连不上"})
            intake.incident_actions.merge_pending()
        post(path, am_payload([host], status="resolved", alertname="DatabaseDown", system="DB"))
        work_until(clock.now() + timedelta(seconds=1))
        incident.refresh_from_db()
        return incident

    flapped = outage("db-0", reported_by_a_person=False)
    assert flapped.status == "restored"  # a flap nobody acknowledged: restored by the monitor
    entry = AuditEntry.objects.get(subject_id=flapped.pk, action="incident.restored")
    assert entry.actor == "monitor:prometheus" and entry.data["unconfirmed"] and entry.data["checks"] == []
    page = Client()
    page.force_login(User.objects.get(username="eng-duty"))
    html = page.get(f"/incidents/{flapped.number}", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "监控系统标记已恢复" in html and "未经人工确认" in html
    reported = outage("db-1", reported_by_a_person=True)
    assert reported.pk != flapped.pk and reported.status == "reported"  # a person reported it: the engineer restores
    assert AuditEntry.objects.filter(subject_id=reported.pk, action="alerts.resolved").exists()


def test_a_measured_value_grades_by_the_plans_thresholds(api: Any) -> None:
    publish_monitoring(thresholds=[
        {"labels": {"alertname": "(?i).*cpu.*"}, "above": 98, "level": "red"},
        {"labels": {"alertname": "(?i).*cpu.*"}, "above": 90, "level": "orange", "ref": "B"},
        {"labels": {"alertname": "(?i).*cpu.*"}, "above": 90, "level": "orange"}])
    clock.freeze(clock.now())
    _generic, generic_path = integration("generic", "cpu-script")
    _grafana, grafana_path = integration("grafana", "grafana")
    for key, value in (("hot", 99.5), ("warm", "95"), ("cool", 40), ("unknown", "n/a")):
        assert post(generic_path, {"system": "LIS", "title": "HighCPU", "severity": "critical", "value": value,
                                   "dedup_key": key, "labels": {"alertname": "HighCPU"}}).status_code == 202
    grafana = am_payload(["lis-9"], alertname="HighCpuUsage", severity="critical", system="LIS")
    grafana["version"] = "1"
    grafana["alerts"][0]["values"] = {"A": 12.0, "B": 93.0, "C": 1}
    assert post(grafana_path, grafana).status_code == 202
    work_until(clock.now() + timedelta(seconds=1))
    levels = {a.fingerprint: a.level for a in Alert.objects.all()}
    # Above 98: red; above 90: orange (Grafana by its ref B, not the larger ref A or the condition C);
    # matched but above nothing: the last level; a value that is not a number: by severity.
    assert levels == {"hot": "red", "warm": "orange", "cool": "orange", "unknown": "red",
                      "fp-HighCpuUsage-lis-9": "orange"}


def test_a_threshold_names_a_level_of_the_plan() -> None:
    import yaml

    from yingji.plans.loader import PlanInvalid, parse_plan, template_text

    data = yaml.safe_load(template_text("en"))
    data["monitoring"]["thresholds"] = [{"labels": {"alertname": "HighCPU"}, "above": 90, "level": "amber"}]
    with pytest.raises(PlanInvalid) as refused:
        parse_plan(yaml.safe_dump(data))
    assert "monitoring.thresholds[0].level: unknown warning level 'amber'" in str(refused.value)


def test_rules_map_labels_to_systems_and_an_orange_warning_tells_without_an_incident(api: Any) -> None:
    import yaml

    from yingji.plans import actions as plan_actions
    from yingji.plans.loader import template_text
    from yingji.plans.store import forget_published

    data = yaml.safe_load(template_text("zh"))
    data["monitoring"] = {"group_wait": "10s", "rules": [{"system": "LIS", "labels": {"instance": "lis-.*"}}],
                          "levels": [{"code": "red", "name": "红色报警", "severities": ["critical"]},
                                     {"code": "orange", "name": "橙色预警", "severities": ["warning"],
                                      "opens_incident": False, "notify": ["person:eng-duty"]}]}
    plan_actions.import_and_publish(CLI, yaml.safe_dump(data, allow_unicode=True), note="monitoring rules")
    forget_published()
    clock.freeze(clock.now())
    _made, path = integration()
    post(path, am_payload(["lis-01"], alertname="CPUHigh", severity="warning"))
    post(path, am_payload(["lis-02"], alertname="LisDown"))
    post(path, am_payload(["printer-9"], alertname="PaperOut"))
    work_until(clock.now() + timedelta(seconds=11))
    cpu, down, paper = (Alert.objects.get(fingerprint=f"fp-{n}") for n in ("CPUHigh-lis-01", "LisDown-lis-02",
                                                                           "PaperOut-printer-9"))
    assert (cpu.system, cpu.level, cpu.incident) == ("LIS", "orange", None)
    assert (down.system, down.level) == ("LIS", "red") and down.incident is not None
    assert paper.system == "" and paper.incident is None  # no rule: listed for the office, pages nobody
    [warning] = Message.objects.filter(incident=None, person="eng-duty")
    assert "橙色预警" in warning.subject and "lis-01" in warning.body


def test_malformed_payloads_are_400_naming_the_field_and_kept(api: Any) -> None:
    _made, path = integration()
    bad = am_payload(["his-1"])
    bad["alerts"][0]["startsAt"] = "yesterday"
    answer = post(path, bad)
    assert answer.status_code == 400 and answer.json()["field"] == "alerts[0].startsAt"
    assert post(path, "{not json").json()["field"] == "body"
    assert post(path, {"version": "9", "alerts": []}).json()["field"] == "version"
    dead = Intake.objects.filter(state="dead")
    assert dead.count() == 3 and dead.first().body.startswith("{")  # type: ignore[union-attr]
    office = Client()
    office.force_login(User.objects.get(username="info-director"))
    html = office.get("/alerts", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "alerts[0].startsAt" in html
    assert Client().post(f"/integrations/alertmanager/{'x' * 32}", "{}", content_type="application/json"
                         ).status_code == 404
    assert post(path.replace("alertmanager", "zabbix"), am_payload(["a"])).status_code == 404  # kind and token


def test_an_oversized_payload_is_413_before_it_is_read(api: Any, settings: Any) -> None:
    settings.YINGJI_INTEGRATION_MAX_BYTES = 2000
    _made, path = integration()
    answer = post(path, am_payload([f"h{n}" for n in range(100)]))
    assert answer.status_code == 413
    assert not Intake.objects.exists()


def test_generic_zabbix_and_nagios_payloads_become_alerts(api: Any) -> None:
    clock.freeze(clock.now())
    _g, generic = integration("generic", "script")
    _z, zabbix = integration("zabbix", "zabbix")
    _n, nagios = integration("nagios", "icinga")
    assert post(generic, {"system": "PACS", "title": "PACS archive full", "severity": "critical",
                          "status": "firing", "dedup_key": "pacs-disk"}).status_code == 202
    assert post(zabbix, {"event_id": "4711", "value": "1", "nseverity": "5", "host": "db-01", "name": "DB down",
                         "tags": json.dumps([{"tag": "system", "value": "DB"}]),
                         "recovery_id": "{EVENT.RECOVERY.ID}"}).status_code == 202
    assert post(nagios, {"type": "PROBLEM", "host": "core-sw-1", "service": "", "state": "DOWN",
                         "output": "PING CRITICAL - Packet loss = 100%"}).status_code == 202
    assert post(zabbix, {"event_id": "x", "value": "7"}).json()["field"] == "value"
    intake.process_pending()
    assert set(Alert.objects.values_list("fingerprint", "system", "status")) == {
        ("pacs-disk", "PACS", "firing"), ("zabbix:4711", "DB", "firing"), ("nagios:core-sw-1", "", "firing")}
    post(zabbix, {"event_id": "4711", "value": "0", "nseverity": "5", "host": "db-01", "name": "DB down"})
    intake.process_pending()
    assert Alert.objects.get(fingerprint="zabbix:4711").status == "resolved"


def test_yingji_integration_add_prints_the_url_and_rotate_retires_it(api: Any, capsys: Any) -> None:
    from yingji.cli import main

    assert main(["integration", "add", "alertmanager", "prom-main"]) == 0
    url = capsys.readouterr().out.strip()
    assert "/integrations/alertmanager/" in url
    path = url.split("/integrations/", 1)[1]
    assert post(path, am_payload(["a"])).status_code == 202
    assert main(["integration", "rotate", "prom-main"]) == 0
    new = capsys.readouterr().out.strip().split("/integrations/", 1)[1]
    assert post(path, am_payload(["a"])).status_code == 404 and post(new, am_payload(["a"])).status_code == 202
    assert main(["integration", "add", "pager", "x"]) == 1




def test_whatever_a_monitor_posts_is_kept_or_refused_never_a_5xx(api: Any) -> None:
    """Fuzzing each receiver: any JSON (and garbage) gets 202 or 400 naming a field, never a 5xx,
    and every payload is kept, as pending or as refused."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    paths = {kind: integration(kind, f"fuzz-{kind}")[1] for kind in Integration.Kind.values}
    leaf = st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False) | st.text(max_size=30)
    value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=20)
    shaped = st.fixed_dictionaries({"version": st.sampled_from(["4", "1", 4, None]), "alerts": value,
                                    "commonLabels": value}) | st.fixed_dictionaries(
        {"event_id": value, "value": value, "host": value, "tags": value, "state": value, "type": value,
         "title": value, "system": value, "status": value})

    @settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(kind=st.sampled_from(sorted(paths)), body=value | shaped)
    def check(kind: str, body: Any) -> None:
        before = Intake.objects.count()
        answer = post(paths[kind], json.dumps(body))
        assert answer.status_code in (202, 400), (answer.status_code, answer.content)
        assert answer.status_code == 202 or answer.json()["field"]
        assert Intake.objects.count() == before + 1
        intake.process_pending()  # what the receiver took, the worker can apply
        assert not Intake.objects.filter(state="dead", error__contains="Error").exists()

    check()
    assert post(paths["generic"], b"\xff\xfe garbage").status_code == 400


def test_hosts_behind_a_down_core_switch_join_the_network_incident_and_page_nobody(api: Any) -> None:
    """The plan's dependencies: HIS depends on NET. The switch's alert and a storm of HIS hosts
    arrive together; one network incident holds them all, and no HIS incident pages anyone."""
    clock.freeze(clock.now())
    _made, path = integration()
    start = clock.now()
    post(path, am_payload([f"his-app-{n}" for n in range(30)], system="HIS"))
    post(path, am_payload(["core-sw-1"], alertname="SwitchDown", system="NET"))
    work_until(start + timedelta(seconds=31))
    [incident] = Incident.objects.all()
    assert incident.system == "NET"
    assert Alert.objects.filter(incident=incident, suppressed_by="NET").count() == 30
    assert AuditEntry.objects.filter(subject_id=incident.pk, action="alerts.suppressed", data__count=30).exists()
    # Later HIS alerts join it at once, still paging nobody of their own.
    post(path, am_payload(["his-app-99"], system="HIS"))
    work_until(start + timedelta(seconds=35))
    assert Alert.objects.get(fingerprint="fp-HostDown-his-app-99").incident == incident
    assert Incident.objects.count() == 1
    page = Client()
    page.force_login(User.objects.get(username="eng-duty"))
    html = page.get(f"/incidents/{incident.number}", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "依赖" in html


def test_a_silence_holds_alerts_back_until_it_ends_and_an_announced_one_is_on_the_board(api: Any) -> None:
    from yingji.alerts.models import Silence

    clock.freeze(clock.now())
    _made, path = integration()
    start = clock.now()
    office = User.objects.get(username="info-director")
    silence = alert_actions.create_silence(office, system="LIS", starts_at=start, ends_at=start + timedelta(hours=1),
                                           reason="LIS 数据库升级", announce=True)
    entry = AuditEntry.objects.get(action="silence.created", subject_id=silence.pk)
    assert entry.actor == "info-director" and entry.data["reason"] == "LIS 数据库升级"
    board = Client()
    board.force_login(User.objects.get(username="nurse-wang"))
    assert "计划维护" in board.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    post(path, am_payload(["lis-01"], alertname="LisDown", system="LIS"))
    work_until(start + timedelta(minutes=5))
    alert = Alert.objects.get(fingerprint="fp-LisDown-lis-01")
    assert alert.silenced_by == silence and alert.incident is None and not Incident.objects.exists()
    # The window ends with the system still down: its alert is handled as if it had just arrived.
    work_until(start + timedelta(hours=1, seconds=1))
    work_until(start + timedelta(hours=1, seconds=32))
    assert Incident.objects.filter(system="LIS").count() == 1
    assert Alert.objects.get(pk=alert.pk).incident is not None
    # Refusals name the field; ending early needs a silence still running.
    for wrong, field in (({"ends_at": start}, "ends_at"), ({"system": "XYZ"}, "system"),
                         ({"system": "", "labels": {}}, "system"), ({"reason": ""}, "reason")):
        body = {"system": "LIS", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
                "reason": "测试", **{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in wrong.items()}}
        answer = api("info-director").post("/silences", body)
        assert answer.status_code == 400 and answer.json()["field"] == field, (wrong, answer.json())
    assert api("nurse-wang").post("/silences", {"system": "LIS", "starts_at": start.isoformat(),
                                                "ends_at": (start + timedelta(hours=2)).isoformat(),
                                                "reason": "x"}).status_code == 403
    again = Silence.objects.get(pk=silence.pk)
    assert api("eng-duty").post(f"/silences/{again.pk}/end").status_code == 409  # it is over already


def test_a_heartbeat_that_stops_checking_in_is_an_alert_and_its_next_ping_resolves_it(api: Any, capsys: Any) -> None:
    from yingji.cli import main

    clock.freeze(clock.now())
    start = clock.now()
    assert main(["integration", "add", "heartbeat", "zabbix-alive", "--every", "5m", "--grace", "1m",
                 "--system", "HIS"]) == 0
    path = capsys.readouterr().out.strip().split("/integrations/", 1)[1]
    assert main(["integration", "add", "heartbeat", "x", "--every", "5m"]) == 1  # which system?
    assert Client().get(f"/integrations/{path}").status_code == 202  # cron's curl
    work_until(start + timedelta(minutes=5))
    assert not Alert.objects.exists()
    work_until(start + timedelta(minutes=6, seconds=1))  # every + grace after the last check-in
    alert = Alert.objects.get(fingerprint="heartbeat:silent")
    assert alert.status == "firing" and alert.system == "HIS" and "zabbix-alive" in alert.title
    work_until(start + timedelta(minutes=6, seconds=32))
    assert alert.__class__.objects.get(pk=alert.pk).incident is not None  # red: the monitor is down
    assert post(path, "").status_code == 202
    work_until(start + timedelta(minutes=7))
    assert Alert.objects.get(pk=alert.pk).status == "resolved"
