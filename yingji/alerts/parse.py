"""What a monitor's payload says, as alert events: pure functions, no database.

Refusals are in the active language, which for a monitor (it asks for none) is the plan's: they go
back to the monitor and onto the office's list of refused payloads.

Each kind of integration posts its own shape; all become `Event`s (fingerprint, status, labels,
title, severity, times). The receiver runs `parse` before it answers, so a malformed payload gets
a 400 naming the field; the worker runs it again on the stored body. Bounds come first: a payload
names at most `MAX_ALERTS` alerts of at most `MAX_LABELS` labels of bounded length.

- Alertmanager webhook v4 and Grafana unified alerting (version "1") share one shape: the whole
  current group in `alerts[]`. A firing alert's `endsAt` is 0001-01-01 (not "ended"); a group
  that is partly resolved is `firing` at the top with mixed alert statuses.
- Zabbix: the media type Yingji ships (`integrations/zabbix/`) posts one event: `event_id` keys
  it (a recovery still carries the problem's id), `value` 0 is a recovery.
- Nagios / Icinga: the notifier Yingji ships posts one notification: host, service, state and
  the notification type; host and service key it.
- Generic JSON: `{"system", "title", "severity", "status", "dedup_key"}` (and optional `labels`),
  one object or a list.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

MAX_ALERTS = 10_000
MAX_LABELS = 64
MAX_LABEL_LEN = 1024
MAX_TEXT = 2000
UNEXPANDED = re.compile(r"^\{[A-Z0-9_.]+\}$")  # a Zabbix macro the event had no value for


class BadPayload(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class Event:
    fingerprint: str
    status: str  # firing | resolved
    title: str
    severity: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    upstream_id: str = ""
    values: dict[str, float] = field(default_factory=dict)  # what the monitor measured, for the plan's thresholds


def parse(kind: str, body: bytes | str) -> list[Event]:
    if kind == "heartbeat":  # a ping may have any body, or none (curl from cron)
        return _heartbeat(None)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload("body", _("Not JSON: %(why)s") % {"why": exc}) from None
    parser = PARSERS.get(kind)
    if parser is None:
        raise BadPayload("kind", _("Unknown kind of integration %(kind)s.") % {"kind": kind})
    return parser(data)


# -- small checked readers ------------------------------------------------------------------------


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload(where, _("Must be a JSON object."))
    return value


def _text(value: Any, where: str, required: bool = False, limit: int = MAX_TEXT) -> str:
    if value is None or value == "":
        if required:
            raise BadPayload(where, _("This field is required."))
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadPayload(where, _("Must be a string."))
    text = str(value).strip()
    if "\x00" in text:
        raise BadPayload(where, _("Must not contain NUL characters."))
    if UNEXPANDED.match(text):
        return ""
    if len(text) > limit:
        raise BadPayload(where, _("At most %(n)s characters.") % {"n": limit})
    return text


def _labels(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    labels = _object(value, where)
    if len(labels) > MAX_LABELS:
        raise BadPayload(where, _("At most %(n)s labels.") % {"n": MAX_LABELS})
    return {_text(k, f"{where}.{k}", limit=200) or "_": _text(v, f"{where}.{k}", limit=MAX_LABEL_LEN)
            for k, v in labels.items()}


def _time(value: Any, where: str) -> datetime | None:
    text = _text(value, where, limit=64)
    if not text or text.startswith("0001-01-01"):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadPayload(where, _("Must be an RFC 3339 time, e.g. 2026-11-22T01:20:08Z.")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 2000 <= moment.year <= 2200:
        raise BadPayload(where, _("Not a plausible time."))
    return moment


def _status(value: Any, where: str, resolved: tuple[str, ...] = ("resolved",)) -> str:
    text = _text(value, where, required=True, limit=40).lower()
    return "resolved" if text in resolved else "firing"


def _values(value: Any) -> dict[str, float]:
    """Measured values: Grafana's {"B": 95.2}, or one number (or numeric text) as {"value": …}.
    Anything else is no value (a monitor's annotation may say "n/a"), never a refusal."""
    items = value.items() if isinstance(value, dict) else [("value", value)] if value is not None else []
    values = {}
    for name, raw in list(items)[:MAX_LABELS]:
        try:
            number = float(raw) if not isinstance(raw, bool) else None
        except (TypeError, ValueError):
            continue
        if number is not None and math.isfinite(number):
            values[str(name)[:40]] = number
    return values


def fingerprint_of(labels: dict[str, str]) -> str:
    """Same labels, same alert (as Alertmanager keys its alerts)."""
    return hashlib.sha256(json.dumps(labels, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


# -- the shapes -----------------------------------------------------------------------------------


def _grouped(data: Any) -> list[Event]:
    """Alertmanager v4 and Grafana (version "1"): the whole current group."""
    body = _object(data, "body")
    version = _text(body.get("version"), "version", required=True, limit=8)
    if version not in ("4", "1"):
        raise BadPayload("version", _("Must be 4 (Alertmanager) or 1 (Grafana)."))
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise BadPayload("alerts", _("Must be a list."))
    if len(alerts) > MAX_ALERTS:
        raise BadPayload("alerts", _("At most %(n)s alerts in one payload.") % {"n": MAX_ALERTS})
    group = _text(body.get("groupKey"), "groupKey")
    common = _labels(body.get("commonLabels"), "commonLabels")
    events = []
    for i, raw in enumerate(alerts):
        where = f"alerts[{i}]"
        alert = _object(raw, where)
        labels = {**common, **_labels(alert.get("labels"), f"{where}.labels")}
        annotations = _labels(alert.get("annotations"), f"{where}.annotations")
        status = _status(alert.get("status"), f"{where}.status")
        events.append(Event(
            fingerprint=_text(alert.get("fingerprint"), f"{where}.fingerprint", limit=128) or fingerprint_of(labels),
            status=status, labels=labels, annotations=annotations,
            title=(annotations.get("summary") or annotations.get("description") or labels.get("alertname")
                   or "alert")[:300],
            severity=labels.get("severity", ""), starts_at=_time(alert.get("startsAt"), f"{where}.startsAt"),
            ends_at=_time(alert.get("endsAt"), f"{where}.endsAt") if status == "resolved" else None,
            upstream_id=group[:200],
            values=_values(alert.get("values")) or _values(annotations.get("value"))))
    return events


def _generic(data: Any) -> list[Event]:
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_ALERTS:
        raise BadPayload("body", _("At most %(n)s alerts in one payload.") % {"n": MAX_ALERTS})
    events = []
    for i, raw in enumerate(items):
        where = f"[{i}]" if isinstance(data, list) else ""
        item = _object(raw, where or "body")
        labels = _labels(item.get("labels"), f"{where}labels")
        if system := _text(item.get("system"), f"{where}system", limit=40):
            labels["system"] = system
        title = _text(item.get("title"), f"{where}title", required=True, limit=300)
        key = _text(item.get("dedup_key"), f"{where}dedup_key", limit=128)
        events.append(Event(fingerprint=key or fingerprint_of({**labels, "title": title}),
                            status=_status(item.get("status") or "firing", f"{where}status",
                                           ("resolved", "ok", "recovered")),
                            title=title, severity=_text(item.get("severity"), f"{where}severity", limit=40),
                            labels=labels, upstream_id=key, values=_values(item.get("value"))))
    return events


def _zabbix(data: Any) -> list[Event]:
    event = _object(data, "body")
    event_id = _text(event.get("event_id"), "event_id", required=True, limit=40)
    value = _text(event.get("value"), "value", required=True, limit=4)
    if value not in ("0", "1"):
        raise BadPayload("value", _("Must be 1 (a problem) or 0 (a recovery): {EVENT.VALUE}."))
    labels = {"host": _text(event.get("host"), "host", limit=200),
              "host_name": _text(event.get("host_name"), "host_name", limit=200),
              "host_ip": _text(event.get("host_ip"), "host_ip", limit=64)}
    for group in _text(event.get("host_groups"), "host_groups").split(","):
        if group.strip():
            labels.setdefault("hostgroup", group.strip())
    tags = event.get("tags")
    if isinstance(tags, str) and tags.strip().startswith("["):
        try:
            tags = json.loads(tags)
        except ValueError:
            raise BadPayload("tags", _("Must be the JSON of {EVENT.TAGSJSON}.")) from None
    if isinstance(tags, list):
        for i, tag in enumerate(tags[:MAX_LABELS]):
            tag = _object(tag, f"tags[{i}]")
            labels[_text(tag.get("tag"), f"tags[{i}].tag", limit=200) or "_"] = _text(
                tag.get("value"), f"tags[{i}].value", limit=MAX_LABEL_LEN)
    labels = {k: v for k, v in labels.items() if v}
    return [Event(fingerprint=f"zabbix:{event_id}", status="resolved" if value == "0" else "firing",
                  title=_text(event.get("name"), "name", limit=300) or "Zabbix problem",
                  severity=_text(event.get("nseverity"), "nseverity", limit=4)
                  or _text(event.get("severity"), "severity", limit=40),
                  labels=labels, annotations={"opdata": _text(event.get("opdata"), "opdata")},
                  upstream_id=event_id, values=_values(event.get("item_value")))]


NAGIOS_OK = ("OK", "UP")


def _nagios(data: Any) -> list[Event]:
    note = _object(data, "body")
    host = _text(note.get("host"), "host", required=True, limit=200)
    service = _text(note.get("service"), "service", limit=200)
    state = _text(note.get("state"), "state", required=True, limit=20).upper()
    kind = _text(note.get("type"), "type", required=True, limit=40).upper()
    labels = {"host": host, **({"service": service} if service else {}),
              **({"address": a} if (a := _text(note.get("address"), "address", limit=200)) else {})}
    resolved = kind == "RECOVERY" or state in NAGIOS_OK
    output = _text(note.get("output"), "output")
    return [Event(fingerprint="nagios:" + (f"{host}/{service}" if service else host)[:120],
                  status="resolved" if resolved else "firing",
                  title=(f"{service} on {host}: {state}" if service else f"{host}: {state}")[:300],
                  severity=state, labels=labels, annotations={"output": output, "type": kind},
                  upstream_id=_text(note.get("problem_id"), "problem_id", limit=40))]


HEARTBEAT = "heartbeat:silent"  # the one alert a heartbeat has: it stopped checking in


def _heartbeat(data: Any) -> list[Event]:
    """A check-in: whatever it says, the monitor is alive, so its silence alert is resolved."""
    return [Event(fingerprint=HEARTBEAT, status="resolved", title="heartbeat")]


PARSERS = {"heartbeat": _heartbeat, "alertmanager": _grouped, "grafana": _grouped, "generic": _generic,
           "zabbix": _zabbix, "nagios": _nagios}
