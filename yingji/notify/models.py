from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yingji.timers.models import Leased


class Message(models.Model):
    """One thing said to one person (or one reporter's phone), sent on each of their channels.

    Written in the same transaction as the change that caused it (the outbox); the worker sends
    the deliveries afterwards, so nothing is sent from inside a request.
    """

    class Kind(models.TextChoices):
        PAGE = "page", _("Page")
        ESCALATION = "escalation", _("Escalation page")
        ACTIVATION = "activation", _("Plan activation")
        ACTIVATION_REQUEST = "activation_ask", _("Activation needed")
        LEVEL_REPORT = "level_report", _("Report to the command")
        MODE_SWITCH = "mode_switch", _("Downtime mode")
        BREACH = "breach", _("Deadline missed")
        UPDATE = "update", _("Update")
        RESTORED = "restored", _("Restored")
        DIGEST = "digest", _("Audit digest")

    # Kinds that ask the recipient to act; everyone who got one hears how the incident goes on.
    PAGED = (Kind.PAGE, Kind.ESCALATION, Kind.ACTIVATION, Kind.ACTIVATION_REQUEST, Kind.LEVEL_REPORT, Kind.BREACH,
             Kind.MODE_SWITCH)

    incident = models.ForeignKey("incidents.Incident", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="messages")
    task = models.ForeignKey("incidents.DepartmentTask", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="messages")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    person = models.CharField(max_length=40, blank=True, help_text="plan person code; empty for a reporter")
    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    step = models.PositiveSmallIntegerField(default=0)
    needs_ack = models.BooleanField(default=False)
    # Random, looked up by the signed acknowledgement link; the signature carries its age.
    ack_key = models.CharField(max_length=24, unique=True)
    created_at = models.DateTimeField()
    acked_at = models.DateTimeField(null=True, blank=True)
    acked_via = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["incident", "kind"]),
                   models.Index(fields=["person", "acked_at"], name="notify_msg_person_waiting")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.name}"

    @classmethod
    def waiting_for(cls, person: str) -> models.QuerySet[Message]:
        """A person's pages that still want their answer: not acknowledged, on an open incident, and,
        for a page asking someone to take the incident, nobody has taken it yet. One definition
        for the header's badge, "my pages" and the incident page's to-do list."""
        from yingji.incidents.models import Incident

        return (cls.objects.filter(person=person, needs_ack=True, acked_at__isnull=True,
                                   incident__status__in=Incident.OPEN)
                .exclude(Q(kind__in=(cls.Kind.PAGE, cls.Kind.ESCALATION))
                         & ~Q(incident__status=Incident.Status.REPORTED)))


class Delivery(Leased):
    """One message on one channel. Claimed and retried like a timer; every attempt is logged."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=40)
    kind = models.CharField(max_length=12)
    address = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    log = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["state", "due_at"])]

    def error_for(self, contacts: bool) -> str:
        """The last error; the address it may quote only for roles that page people."""
        return self.shown_error(self.last_error, self.address, contacts)

    @staticmethod
    def shown_error(error: str, address: str, contacts: bool) -> str:
        return error if contacts or not address else error.replace(address, "…")

    def __str__(self) -> str:
        return f"{self.channel} {self.address} {self.state}"
