from django.db import models


class RosterOverride(models.Model):
    """Someone else is on duty for a while: sick leave, a swap, a holiday.

    Rotations live in the plan (they change with a plan revision); overrides are day-to-day
    changes made by the office, so they live here and survive plan revisions. Where overrides
    overlap, the one made last wins.
    """

    class Kind(models.TextChoices):
        OVERRIDE = "override"
        SWAP = "swap"

    roster = models.CharField(max_length=40, db_index=True)
    person = models.CharField(max_length=40)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OVERRIDE)
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at", "id"]

    def __str__(self) -> str:
        return f"{self.roster}: {self.person} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"
