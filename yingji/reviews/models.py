"""After the incident: the post-incident review (C20) and the reports owed to regulators (C13)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from yingji.incidents.models import Incident


class Review(models.Model):
    """The information center's written review; impact and timeline are computed, not typed."""

    SECTIONS = (("cause", _("Cause")), ("what_worked", _("What worked")), ("what_failed", _("What did not work")),
                ("accountability", _("Accountability")), ("commendations", _("Commendations")),
                ("plan_revision", _("Plan revision")))

    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="review")
    cause = models.TextField(blank=True)
    what_worked = models.TextField(blank=True)
    what_failed = models.TextField(blank=True)
    accountability = models.TextField(blank=True, help_text="responsibility found, penalties proposed")
    commendations = models.TextField(blank=True, help_text="rewards proposed")
    plan_revision = models.TextField(blank=True, help_text="what the plan must change, and the version that did")
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"review {self.incident_id}"


class SituationReport(models.Model):
    """A report on the situation to the leading group (情况报告, seed 000), with its five contents;
    the first is numbered 1, each follow-up (续报) the next. Kept as it was sent."""

    CONTENTS = (("source", _("Information source")), ("scope", _("Scope of impact")), ("nature", _("Nature")),
                ("trend", _("Trend")), ("measures", _("Proposed measures")))

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="situation_reports")
    number = models.PositiveIntegerField()
    source = models.TextField()
    scope = models.TextField()
    nature = models.TextField()
    trend = models.TextField()
    measures = models.TextField()
    recipients = models.JSONField(default=list, help_text="plan person codes it was sent to")
    sent_at = models.DateTimeField()
    sent_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["incident_id", "number"]
        constraints = [models.UniqueConstraint(fields=["incident", "number"], name="one_situation_report_number")]

    def __str__(self) -> str:
        return f"{self.incident_id} situation report {self.number}"


class CorrectiveAction(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="corrective_actions")
    text = models.TextField()
    owner = models.CharField(max_length=40, help_text="person code from the plan")
    due_date = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=150, blank=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["due_date", "id"]

    def __str__(self) -> str:
        return self.text[:40]


class RegulatoryReport(models.Model):
    """A report owed to an authority, with the deadline the law sets, counted from discovery."""

    class Kind(models.TextChoices):
        POLICE = "police", _("Police report (案件)")
        CAC = "cac", _("CAC first report")
        CAC_FOLLOWUP = "cac_followup", _("CAC follow-up report (续报)")
        CAC_SUMMARY = "cac_summary", _("CAC 30-day summary")
        PIPL = "pipl", _("PIPL personal-data leak notice")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="regulatory_reports")
    kind = models.CharField(max_length=14, choices=Kind.choices)
    target = models.CharField(max_length=40, blank=True, help_text="external contact code")
    basis = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    # Art. 7 items 1-8 for CAC, the three PIPL items, free text for the police: edited before sending.
    content = models.JSONField(default=dict, blank=True)
    partial = models.BooleanField(default=False, help_text="a first report with items 1-2 only (Art. 7 §2)")
    # The leadership's consent before a police report goes out (seed 000: 经有关领导同意后).
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=150, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.CharField(max_length=150, blank=True)
    channel = models.CharField(max_length=100, blank=True)
    receipt = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["due_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind}"


class Evidence(models.Model):
    """What was preserved of a security incident (logs, disk images, samples) and where, with its
    hash, and whether the scene was protected: what the police and the CAC report (Art. 7 item 7)
    ask, and what 等保 calls "collect evidence, record the process"."""

    class Kind(models.TextChoices):
        SCENE = "scene", _("Scene protected (nothing wiped or reinstalled)")
        LOG = "log", _("Logs")
        IMAGE = "image", _("Disk or memory image")
        SAMPLE = "sample", _("Malware sample or ransom note")
        SCREENSHOT = "screenshot", _("Screenshots or photos")
        OTHER = "other", _("Other")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    what = models.CharField(max_length=300)
    location = models.CharField(max_length=300, blank=True, help_text="where it is kept")
    sha256 = models.CharField(max_length=64, blank=True)
    collected_at = models.DateTimeField()
    collected_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["collected_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.what[:40]}"
