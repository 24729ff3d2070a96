"""From a monitor's POST to an incident: receive durably, then let the worker do the rest.

`receive` is all the receiver does: bound the body, find the integration by its token's hash,
parse the payload (a malformed one is kept as dead and answered 400 with its field), append the
raw body as a pending `Intake` row in one short transaction, and answer. `process_pending` is the
worker's step: it claims pending rows in batches, upserts each alert by fingerprint (re-sent
payloads change nothing), maps it to a plan system and warning level, and for an alert that opens
incidents starts the system's group timer, `group_wait` after its first alert, so that a storm
becomes one incident. `_open_group` (the timer) opens the incident like a report does, or joins
the open one of that system; alerts arriving later join it at once. A resolved alert is marked
so; when every alert of an incident is resolved the incident's timeline says so and the page
offers restore.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yingji.core import audit, clock, groupcommit
from yingji.core.actors import WORKER, monitor
from yingji.incidents import actions as incident_actions
from yingji.incidents.escalation import context, say
from yingji.incidents.models import Incident, Report
from yingji.notify import service as notify
from yingji.notify.models import Message
from yingji.oncall.targets import resolve
from yingji.plans.schema import Plan
from yingji.plans.store import plan_of, published
from yingji.timers import service as timers

from .models import Alert, Intake, Integration, Silence
from .parse import HEARTBEAT, BadPayload, Event, parse

log = logging.getLogger("yingji.alerts")
BATCH = 200
ALERT_BUDGET = 500  # alerts per worker transaction: a few tens of ms of the write lock
TOKEN_CACHE_S = 30.0
_tokens: dict[str, tuple[float, int, str, str]] = {}  # hash → (when, id, kind, name)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find(kind: str, token: str) -> tuple[int, str] | None:
    """(integration id, name) for a token of this kind, remembered briefly: a storm is thousands of
    posts with the same token."""
    digest = token_hash(token)
    cached = _tokens.get(digest)
    if cached and time.monotonic() - cached[0] < TOKEN_CACHE_S:
        return (cached[1], cached[3]) if cached[2] == kind else None
    row = Integration.objects.filter(token_hash=digest).values_list("id", "kind", "name").first()
    if row is None:
        return None
    _tokens[digest] = (time.monotonic(), row[0], row[1], row[2])
    return (row[0], row[2]) if row[1] == kind else None


def forget_tokens() -> None:
    _tokens.clear()


@dataclass
class Received:
    intake: int
    alerts: int


def receive(integration_id: int, kind: str, body: bytes) -> Received:
    """Keep the payload; raise BadPayload (after keeping it as dead) when it is malformed."""
    now = clock.now()
    text = body.decode("utf-8", errors="replace")
    try:
        events = parse(kind, body)
    except BadPayload as exc:
        with transaction.atomic():
            Intake.objects.create(integration_id=integration_id, received_at=now, body=text,
                                  state=Intake.State.DEAD, field=exc.field[:200], error=exc.message)
        raise
    # Shared with the payloads arriving with it: one commit (one fsync) for a storm's concurrent posts.
    row = groupcommit.appends.run(lambda: Intake.objects.create(
        integration_id=integration_id, received_at=now, body=text, alerts=len(events)))
    return Received(row.pk, len(events))


# -- the worker's side ----------------------------------------------------------------------------


def process_pending(limit: int = BATCH, budget: int = ALERT_BUDGET) -> int:
    """One batch of pending payloads into alerts. Returns how many payloads were processed. A batch
    stops at `budget` alerts, so the write lock is never held long: receivers keep answering in
    milliseconds while the worker works through a storm."""
    current = published()
    if current is None:
        return 0
    if not Intake.objects.filter(state=Intake.State.PENDING).exists():
        return 0
    plan = current[1]
    done, alerts = 0, 0
    with audit.writing():
        rows = Intake.objects.filter(state=Intake.State.PENDING).select_related("integration").order_by("id")
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        for row in list(rows[:limit]):
            if done and alerts + row.alerts > budget:
                break
            try:
                with transaction.atomic():
                    _apply(row, plan)
            except Exception as exc:  # a payload that passed the receiver but cannot be applied is kept
                log.exception("intake %s could not be applied", row.pk)
                row.state, row.error = Intake.State.DEAD, f"{type(exc).__name__}: {exc}"[:2000]
            else:
                row.state = Intake.State.DONE
            row.processed_at = clock.now()
            row.save(update_fields=["state", "error", "processed_at"])
            done, alerts = done + 1, alerts + row.alerts
    return done


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _apply(row: Intake, plan: Plan) -> None:
    """A payload's alerts in a few statements: the known ones read in chunks, the new ones written
    in one bulk insert, the unchanged ones touched in one update, then routed system by system."""
    integration = row.integration
    now = row.received_at  # an alert is seen when its payload arrived, however busy the worker was
    Integration.objects.filter(pk=integration.pk).update(last_seen_at=row.received_at)
    systems = {s.code for s in plan.systems}
    events = parse(integration.kind, row.body)
    known: dict[str, Alert] = {}
    for chunk in _chunks(list(dict.fromkeys(e.fingerprint for e in events))):
        known.update((a.fingerprint, a) for a in Alert.objects.filter(integration=integration, fingerprint__in=chunk))
    new: dict[str, Alert] = {}
    unchanged: list[int] = []
    changed: list[Alert] = []
    resolved_incidents: set[int] = set()
    for event in events:
        alert = known.get(event.fingerprint)
        if alert is None:
            if event.status == Alert.Status.FIRING and event.fingerprint not in new:
                new[event.fingerprint] = _new_alert(integration, event, plan, systems, row, now)
            continue  # (resolved before Yingji ever saw it firing: nothing to say)
        if event.status == alert.status:
            unchanged.append(alert.pk)
            continue
        alert.status, alert.last_seen_at, alert.last_intake = event.status, now, row
        alert.ends_at = (event.ends_at or now) if event.status == Alert.Status.RESOLVED else None
        if event.status == Alert.Status.RESOLVED and alert.incident_id:
            resolved_incidents.add(alert.incident_id)
        changed.append(alert)
    created = Alert.objects.bulk_create(list(new.values()), batch_size=500)
    for chunk in _chunks(unchanged):
        Alert.objects.filter(pk__in=chunk).update(last_seen_at=now, last_intake=row)
    for alert in changed:
        alert.save(update_fields=["last_seen_at", "last_intake", "status", "ends_at"])
    route_many([*created, *(a for a in changed if a.status == Alert.Status.FIRING)], plan)
    for incident_id in resolved_incidents:
        _maybe_all_resolved(incident_id)
    if integration.kind == Integration.Kind.HEARTBEAT and integration.every:
        expect_heartbeat(integration, row.received_at)


def expect_heartbeat(integration: Integration, seen: Any) -> None:
    """The next check-in is due `every` after this one; `grace` later it counts as silent."""
    timers.schedule("heartbeat", f"heartbeat:{integration.pk}",
                    seen + timedelta(seconds=(integration.every or 0) + integration.grace),
                    payload={"integration": integration.pk})


@timers.handler("heartbeat")
def _heartbeat_missed(timer: timers.Timer) -> None:
    """No check-in in time: the monitor itself may be down, which is an alert about its system."""
    integration = Integration.objects.filter(pk=timer.payload.get("integration")).first()
    current = published()
    if integration is None or current is None:
        return
    plan, now = current[1], clock.now()
    since = integration.last_seen_at or integration.created_at
    with translation.override(plan.hospital.language):
        title = _("No check-in from %(name)s since %(t)s: the monitor itself may be down") % {
            "name": integration.name, "t": f"{timezone.localtime(since):%m-%d %H:%M}"}
    level = plan.monitoring.levels[0] if plan.monitoring.levels else None
    alert, _created = Alert.objects.update_or_create(
        integration=integration, fingerprint=HEARTBEAT, defaults={
            "status": Alert.Status.FIRING, "title": title[:300], "severity": "critical",
            "level": level.code if level else "", "system": integration.system, "labels": {"monitor": integration.name},
            "starts_at": now, "ends_at": None, "first_seen_at": now, "last_seen_at": now, "incident": None})
    route(alert, plan)


def _new_alert(integration: Integration, event: Event, plan: Plan, systems: set[str], row: Intake,
               now: Any) -> Alert:
    level = plan.monitoring.level_for(event.severity, event.labels, event.values)
    return Alert(
        integration=integration, fingerprint=event.fingerprint, upstream_id=event.upstream_id,
        status=event.status, title=event.title[:300], severity=event.severity[:40],
        level=level.code if level else "", system=plan.monitoring.system_for(event.labels, systems),
        labels=event.labels, annotations=event.annotations, starts_at=event.starts_at or now,
        first_seen_at=now, last_seen_at=now, last_intake=row)


def route(alert: Alert, plan: Plan) -> None:
    route_many([alert], plan)


def route_many(alerts: list[Alert], plan: Plan) -> None:
    """Firing alerts, system by system: a silence holds them; a level that opens no incident tells
    its people; the rest join the incident of a system theirs depends on (and page nobody), or
    their system's open incident, or wait `group_wait` for the rest of their storm."""
    levels = {lv.code: lv for lv in plan.monitoring.levels}
    now = clock.now()
    silences = list(Silence.objects.filter(ended_at__isnull=True, starts_at__lte=now, ends_at__gt=now))
    held: dict[Silence, list[int]] = {}
    by_system: dict[str, list[Alert]] = {}
    for alert in alerts:
        level = levels.get(alert.level)
        if level is None or not alert.system:
            continue
        silence = next((s for s in silences if s.matches(alert.system, alert.labels)), None)
        if silence is not None:
            held.setdefault(silence, []).append(alert.pk)
            alert.silenced_by = silence
        elif not level.opens_incident:
            _tell_warning(alert, plan, level.notify)
        else:
            by_system.setdefault(alert.system, []).append(alert)
    for silence, pks in held.items():
        for chunk in _chunks(pks):
            Alert.objects.filter(pk__in=chunk).update(silenced_by=silence)
    for system, group in by_system.items():
        pks = [a.pk for a in group]
        upstream = _upstream_incident(system, plan)
        incident = upstream or _open_incident_of(system, plan)
        if incident is not None:  # behind a down system: that explains it, page nobody
            behind = upstream.system if upstream is not None else ""
            for chunk in _chunks(pks):
                Alert.objects.filter(pk__in=chunk).update(incident=incident, suppressed_by=behind)
            for alert in group:
                alert.incident, alert.suppressed_by = incident, behind
            if not behind:
                _tell_joined_later(incident, plan, now, min(a.first_seen_at for a in group))
            continue
        key = f"alerts:group:{system}"
        if not timers.Timer.objects.filter(key=key, state=timers.Timer.State.PENDING).exists():
            first = min(a.first_seen_at for a in group)
            timers.schedule("alert_group", key, first + timedelta(seconds=plan.monitoring.group_wait),
                            payload={"system": system})


def _dependencies(system: str, plan: Plan) -> list[str]:
    """Every system `system` depends on, nearest first (HIS → DB, NET), each once."""
    seen: list[str] = []
    queue = list(found.depends_on) if (found := plan.system(system)) else []
    while queue:
        code = queue.pop(0)
        if code not in seen and code != system:
            seen.append(code)
            queue += list(found.depends_on) if (found := plan.system(code)) else []
    return seen


def _upstream_incident(system: str, plan: Plan) -> Incident | None:
    """The open incident of a system this one depends on, opening it now if its alerts are still
    waiting out their group_wait (the switch's storm and the hosts' storm arrive together)."""
    for code in _dependencies(system, plan):
        if (incident := _open_incident_of(code, plan)) is not None:
            return incident
        if _waiting(code, plan).exists():
            return _open_group_of(code, plan)
    return None


def _waiting(system: str, plan: Plan) -> Any:
    opening = [lv.code for lv in plan.monitoring.levels if lv.opens_incident]
    return Alert.objects.filter(system=system, status=Alert.Status.FIRING, incident__isnull=True, level__in=opening,
                                silenced_by__isnull=True)


def _open_incident_of(system: str, plan: Plan) -> Incident | None:
    return (Incident.objects.filter(system=system, status__in=Incident.OPEN,
                                    last_report_at__gte=clock.now() - timedelta(seconds=plan.intake.merge_window))
            .order_by("-last_report_at").first())


def _tell_warning(alert: Alert, plan: Plan, targets: list[str]) -> None:
    if not targets:
        return
    people = resolve(plan, targets, clock.now())
    system = plan.system(alert.system)
    level = next((lv.name for lv in plan.monitoring.levels if lv.code == alert.level), alert.level)
    notify.enqueue_plain(plan, Message.Kind.UPDATE, people, "alert_warning", {
        "level": level, "system": system.name if system else alert.system, "title": alert.title,
        "host": alert.labels.get("host") or alert.labels.get("instance") or "-"},
        channel_kinds=tuple(c.kind for c in plan.notifications.channels))


@timers.handler("alert_group")
def _open_group(timer: timers.Timer) -> None:
    """`group_wait` after a system's first alert: one incident for all its firing alerts so far,
    or, when a system it depends on is down too, that system's incident for them all."""
    current = published()
    system = str(timer.payload.get("system", ""))
    if current is None or not _waiting(system, current[1]).exists():
        return
    plan = current[1]
    upstream = _upstream_incident(system, plan)
    if upstream is not None:
        alerts = list(_waiting(system, plan).values_list("pk", flat=True))
        Alert.objects.filter(pk__in=alerts).update(incident=upstream, suppressed_by=upstream.system)
        audit.append(WORKER.name, "alerts.suppressed", "incident", upstream.pk,
                     {"count": len(alerts), "system": system, "behind": upstream.system})
        return
    _open_group_of(system, plan)


def _open_group_of(system: str, plan: Plan) -> Incident | None:
    alerts = list(_waiting(system, plan).select_related("integration").order_by("first_seen_at", "id"))
    if not alerts:
        return None
    first = alerts[0]
    incident = _open_incident_of(system, plan)
    if incident is None:
        incident = incident_actions.report_fault(
            monitor(first.integration.name), system=system, symptom=first.title[:500] or system,
            location=(first.labels.get("host") or first.labels.get("instance") or "")[:200],
            scope=plan.monitoring.scope, channel=Report.Channel.MONITOR).incident
    Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(incident=incident)
    audit.append(WORKER.name, "alerts.attached", "incident", incident.pk,
                 {"count": len(alerts), "system": system, "first": first.title[:200]})
    timers.schedule("alert_repeat", f"alerts:repeat:{incident.pk}",
                    clock.now() + timedelta(seconds=plan.monitoring.repeat_interval), payload={"incident": incident.pk})
    return incident  # an upstream's own group timer, when it fires, finds nothing left waiting


def _paged(incident: Incident) -> list[str]:
    """Everyone paged for the incident, once each: whom news of its alerts is for."""
    return list(dict.fromkeys(Message.objects.filter(
        incident=incident, kind__in=(Message.Kind.PAGE, Message.Kind.ESCALATION)).exclude(person="")
        .values_list("person", flat=True)))


def _tell_joined_later(incident: Incident, plan: Plan, now: Any, since: Any) -> None:
    """Alerts joining an open incident are told together, `group_interval` after the first of them
    (as Alertmanager re-sends a changed group), not one page per alert."""
    key = f"alerts:joined:{incident.pk}"
    if not timers.Timer.objects.filter(key=key, state=timers.Timer.State.PENDING).exists():
        timers.schedule("alert_joined", key, now + timedelta(seconds=plan.monitoring.group_interval),
                        payload={"incident": incident.pk, "since": since.isoformat()})


def _still_firing(incident_id: Any) -> tuple[Incident, Plan, Any] | None:
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None or not incident.is_open or incident.restored_at:
        return None
    firing = Alert.objects.filter(incident=incident, status=Alert.Status.FIRING, suppressed_by="")
    return incident, plan_of(incident.plan_version_id), firing


@timers.handler("alert_joined")
def _joined(timer: timers.Timer) -> None:
    if (found := _still_firing(timer.payload.get("incident"))) is None:
        return
    incident, plan, firing = found
    since = datetime.fromisoformat(str(timer.payload.get("since")))
    joined = firing.filter(first_seen_at__gte=since).count()
    if joined:
        notify.enqueue(incident, Message.Kind.UPDATE, _paged(incident), "update", context(
            incident, plan, event=say(plan, gettext_lazy("%(n)s more alerts joined; %(firing)s are firing now."),
                                      n=joined, firing=firing.count())))


@timers.handler("alert_repeat")
def _repeat(timer: timers.Timer) -> None:
    """`repeat_interval` after the incident opened, and again each time: a group still firing is
    told again, so that a long outage is not forgotten behind its first page."""
    if (found := _still_firing(timer.payload.get("incident"))) is None:
        return
    incident, plan, firing = found
    count = firing.count()
    if not count:
        return
    notify.enqueue(incident, Message.Kind.UPDATE, _paged(incident), "update", context(
        incident, plan, event=say(plan, gettext_lazy("Still firing: %(n)s alerts of this incident."), n=count)))
    timers.schedule("alert_repeat", f"alerts:repeat:{incident.pk}",
                    clock.now() + timedelta(seconds=plan.monitoring.repeat_interval), payload={"incident": incident.pk})


def _maybe_all_resolved(incident_id: int) -> None:
    """Every alert of the incident is resolved: the timeline says so, and whoever was paged for it
    is told to check and mark it restored (the engineer decides; the monitor does not restore)."""
    incident = Incident.objects.get(pk=incident_id)
    if not incident.is_open or incident.restored_at or \
            Alert.objects.filter(incident=incident, status=Alert.Status.FIRING).exists():
        return
    count = Alert.objects.filter(incident=incident).count()
    audit.append(WORKER.name, "alerts.resolved", "incident", incident.pk, {"count": count})
    plan = plan_of(incident.plan_version_id)
    if plan.monitoring.resolve_restores and not incident.reports.exclude(channel=Report.Channel.MONITOR).exists():
        by = Alert.objects.filter(incident=incident).values_list("integration__name", flat=True).first() or ""
        with translation.override(plan.hospital.language):
            note = _("All %(n)s alerts resolved") % {"n": count}
        incident_actions.restore(monitor(by), incident, note=note, by_monitor=True)
        return
    notify.enqueue(incident, Message.Kind.UPDATE, _paged(incident), "update", context(
        incident, plan, event=say(plan, gettext_lazy("All %(n)s alerts of this incident are resolved: check the "
                                                     "system and mark it restored."), n=count)))
