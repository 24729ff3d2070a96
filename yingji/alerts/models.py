"""Alerts from the hospital's monitors: the integrations that send them, every payload as it
arrived (the intake), and the alerts the payloads say, each keyed by its upstream fingerprint."""

from __future__ import annotations

import re

from django.db import models
from django.utils.translation import gettext_lazy as _


class Integration(models.Model):
    """One monitor sending to Yingji, at its own secret URL `/integrations/<kind>/<token>`. Only the
    token's hash is kept; rotating it gives a new URL and the old one stops working."""

    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", _("Prometheus Alertmanager")
        GRAFANA = "grafana", _("Grafana alerting")
        ZABBIX = "zabbix", _("Zabbix")
        NAGIOS = "nagios", _("Nagios / Icinga")
        GENERIC = "generic", _("Any monitor (JSON)")
        HEARTBEAT = "heartbeat", _("Heartbeat (a monitor that must check in)")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    rotated_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # A heartbeat: silence longer than every + grace is an alert about `system` (the monitor is down).
    every = models.PositiveIntegerField(null=True, blank=True, help_text="seconds between check-ins")
    grace = models.PositiveIntegerField(default=0, help_text="seconds of lateness before it counts as silent")
    system = models.CharField(max_length=40, blank=True, help_text="plan system a silent heartbeat is about")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


class Intake(models.Model):
    """A payload exactly as a monitor posted it, committed before the receiver answers. The worker
    turns pending rows into alerts; a malformed one is kept as dead with the reason (the office's
    dead-letter list), so nothing a monitor sent is ever lost."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        DONE = "done", _("Processed")
        DEAD = "dead", _("Refused")

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="intake")
    received_at = models.DateTimeField()
    body = models.TextField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    field = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    alerts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["state", "id"])]

    def __str__(self) -> str:
        return f"intake {self.pk} {self.state}"


class Silence(models.Model):
    """A time-bounded mute, for planned maintenance or a known flap: firing alerts it matches are
    kept and listed but join no incident and page nobody until it ends, when those still firing
    are routed as if they had just arrived. Announced ones show on the board ahead of time."""

    system = models.CharField(max_length=40, blank=True, help_text="plan system code; empty: any")
    labels = models.JSONField(default=dict, blank=True, help_text="label → regular expression, all must match")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=500)
    announce = models.BooleanField(default=False, help_text="a planned downtime, shown on the board ahead")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]

    def __str__(self) -> str:
        return f"silence {self.pk} {self.system or '*'}"

    def active_at(self, moment: object) -> bool:
        return self.ended_at is None and self.starts_at <= moment < self.ends_at  # type: ignore[operator]

    def matches(self, system: str, labels: dict[str, str]) -> bool:
        return (not self.system or self.system == system) and all(
            re.fullmatch(pattern, labels.get(name, "")) for name, pattern in self.labels.items())


class Alert(models.Model):
    """One alert of one monitor, the same row however often it is re-sent (its fingerprint: the
    upstream's own, or the hash of its labels). It joins the incident of its system."""

    class Status(models.TextChoices):
        FIRING = "firing", _("Firing")
        RESOLVED = "resolved", _("Resolved")

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="alerts")
    fingerprint = models.CharField(max_length=128)
    upstream_id = models.CharField(max_length=200, blank=True, help_text="groupKey, Zabbix event id, problem id")
    status = models.CharField(max_length=10, choices=Status.choices)
    title = models.CharField(max_length=300)
    severity = models.CharField(max_length=40, blank=True, help_text="as the monitor said it")
    level = models.CharField(max_length=40, blank=True, help_text="the plan's warning level code")
    system = models.CharField(max_length=40, blank=True, help_text="plan system code; empty when no rule maps it")
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    last_intake = models.ForeignKey(Intake, null=True, on_delete=models.SET_NULL, related_name="+")
    incident = models.ForeignKey("incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="alerts")
    # The system this one depends on whose outage explains it (the core switch for the hosts behind
    # it): the alert joined that incident and paged nobody.
    suppressed_by = models.CharField(max_length=40, blank=True)
    silenced_by = models.ForeignKey(Silence, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")

    class Meta:
        ordering = ["first_seen_at", "id"]
        constraints = [models.UniqueConstraint(fields=["integration", "fingerprint"], name="one_alert_per_fingerprint")]
        indexes = [models.Index(fields=["system", "status"]), models.Index(fields=["incident", "status"])]

    def __str__(self) -> str:
        return f"{self.fingerprint} {self.status}"
