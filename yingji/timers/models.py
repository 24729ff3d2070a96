from django.db import models


class Leased(models.Model):
    """A row a worker claims for a while: what `timers.service.claim` needs (Timer, Delivery)."""

    due_at = models.DateTimeField()
    token = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class Timer(Leased):
    """A deadline as a row: it survives restarts, fires once, and keeps its evidence.

    A worker claims a due row by compare-and-set on `token` (and, on PostgreSQL, FOR UPDATE
    SKIP LOCKED), runs its action in one transaction and marks it fired. A claim that crashed
    comes back when `claimed_until` passes. `key` names what the timer waits for, so an action
    can cancel it ("acknowledged" cancels the acknowledge timer) and scheduling is idempotent.
    """

    class State(models.TextChoices):
        PENDING = "pending"
        FIRED = "fired"
        MET = "met"  # what it waited for happened in time
        CANCELLED = "cancelled"

    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=120)
    incident = models.ForeignKey("incidents.Incident", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="timers")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    finished_by = models.CharField(max_length=150, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "due_at"]), models.Index(fields=["key", "state"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} due {self.due_at:%H:%M:%S} {self.state}"


class WorkerHeartbeat(models.Model):
    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()
    pid = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} {self.beat_at}"
