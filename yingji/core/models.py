from django.db import models


class AuditEntry(models.Model):
    """One step of anything that changed, append-only and chained by hash.

    The incident timeline is this table filtered by subject. Each entry carries the hash of the
    entry before it, so an edited, deleted or reordered entry breaks the chain and
    `yingji audit verify` names the first one that does not fit.
    """

    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=32)
    subject_id = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # HMAC-SHA256 of `hash` under the audit key, which is not in the database.
    mac = models.CharField(max_length=64, default="")

    class Meta:
        indexes = [models.Index(fields=["subject_type", "subject_id", "id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"


class Sequence(models.Model):
    """Counters for human reference numbers (per day), bumped under the write lock."""

    name = models.CharField(max_length=64, unique=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
