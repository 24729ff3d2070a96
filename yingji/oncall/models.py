from django.db import models
from django.utils.translation import gettext_lazy as _


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


class CalendarFeed(models.Model):
    """A secret address for one calendar (a roster, or one person's shifts), until revoked.

    Phone calendars subscribe without a login, so the address itself is the key: a random token,
    kept only as its hash, made by a signed-in user for a roster or for their own shifts (the
    office for anyone's), and revoked by its maker or the office. The roster code alone, which
    everyone can read off the plan, no longer opens a feed.
    """

    class Kind(models.TextChoices):
        ROSTER = "roster", _("Roster")
        PERSON = "person", _("Personal shifts")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    code = models.CharField(max_length=40)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    revoked_by = models.CharField(max_length=150, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.code} by {self.created_by}"
