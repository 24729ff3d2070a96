from django.db import models
from django.utils.translation import gettext_lazy as _


class PlanVersion(models.Model):
    """One imported plan file. Its content never changes once stored: incidents point at the
    version they started under, so that pointer is their snapshot of the plan."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        PUBLISHED = "published", _("Published")
        SUPERSEDED = "superseded", _("Superseded")

    number = models.PositiveIntegerField(unique=True)
    label = models.CharField(max_length=40, help_text=_("the version the plan document gives itself"))
    title = models.CharField(max_length=200)
    hospital = models.CharField(max_length=200)
    language = models.CharField(max_length=10)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    source = models.TextField(help_text=_("the YAML exactly as imported"))
    data = models.JSONField(help_text=_("the validated plan"))
    sha256 = models.CharField(max_length=64)
    imported_by = models.CharField(max_length=150)
    imported_at = models.DateTimeField()
    approved_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    effective_date = models.DateField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-number"]
        indexes = [models.Index(fields=["status", "-number"])]

    def __str__(self) -> str:
        return f"v{self.number} {self.title} ({self.status})"
