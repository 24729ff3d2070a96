"""What was done on paper during a downtime, and how it gets back into the system (补录).

One `ManualRecord` per paper transaction (a registration slip, a handwritten prescription, a
charge: the kinds are the plan's, `recovery.record_kinds`). After recovery each record is entered
into the plan's target system (HIS in the shipped plans; `his_id` is the id it got there),
verified, and its charge confirmed; insurance records also go through re-settlement.
`Reconciliation` is one department's balance of the paper log against what was entered, signed by the department lead
and by finance. `TempRange` is a block of temporary patient numbers reserved ahead for a
department, so a patient registered on paper has a number nobody else will hand out.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yingji.incidents.models import Incident


class TempRange(models.Model):
    department = models.CharField(max_length=40, db_index=True)
    prefix = models.CharField(max_length=20)
    first = models.PositiveIntegerField()
    last = models.PositiveIntegerField()
    width = models.PositiveSmallIntegerField(default=6)
    issued = models.PositiveIntegerField(default=0, help_text="how many numbers were handed out")
    reserved_at = models.DateTimeField()
    reserved_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["department", "prefix", "first"]

    def __str__(self) -> str:
        return f"{self.department}: {self.number(self.first)}–{self.number(self.last)}"

    def number(self, value: int) -> str:
        return f"{self.prefix}{value:0{self.width}d}"

    def holds(self, temp_no: str) -> bool:
        digits = temp_no[len(self.prefix):]
        return temp_no.startswith(self.prefix) and digits.isdigit() and self.first <= int(digits) <= self.last


class ManualRecord(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending back-entry")
        ENTERED = "entered", _("Entered")  # in words: kinds.state_name, which names the system
        VERIFIED = "verified", _("Verified")
        CONFIRMED = "confirmed", _("Charge confirmed")

    class Insurance(models.TextChoices):
        NONE = "", _("Not insured")
        SELF_PAID = "self_paid_pending_resettle", _("Self-paid, re-settlement pending")
        RESETTLED = "resettled", _("Re-settled")
        ON_ACCOUNT = "on_account", _("On account (挂账)")
        SETTLED = "settled", _("Settled")

    class Source(models.TextChoices):
        FORM = "form", _("Downtime entry form")
        API = "api", _("API")
        IMPORT = "import", _("Imported file")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="records")
    kind = models.CharField(max_length=40, help_text="record kind code from the plan (recovery.record_kinds)")
    department = models.CharField(max_length=40)
    card_no = models.CharField(max_length=40, blank=True)
    temp_no = models.CharField(max_length=40, blank=True)
    patient_name = models.CharField(max_length=100, blank=True)
    paper_serial = models.CharField(max_length=40)
    occurred_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    clinician = models.CharField(max_length=100, blank=True)
    insurance = models.CharField(max_length=40, blank=True, help_text="insurance scheme code from the plan")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    insurance_state = models.CharField(max_length=28, choices=Insurance.choices, blank=True, default="")
    his_id = models.CharField(max_length=60, blank=True)
    note = models.TextField(blank=True, help_text="discrepancy found while entering or verifying")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.FORM)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    entered_by = models.CharField(max_length=150, blank=True)
    entered_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.CharField(max_length=150, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.CharField(max_length=150, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    settled_by = models.CharField(max_length=150, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["incident", "department", "state"])]
        constraints = [
            # A paper serial is written once per department's pad; a second row with it is a typo
            # or a file imported twice.
            models.UniqueConstraint(fields=["incident", "department", "paper_serial"], name="one_row_per_slip"),
            # Not NaN, not infinite, within the column: a bad amount is refused by the database too.
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gte=0, amount__lt=Decimal("1e10")),
                                   name="amount_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.department} {self.paper_serial} {self.state}"


class Reconciliation(models.Model):
    """One department's paper log against what was back-entered, and who signed it off."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="reconciliations")
    department = models.CharField(max_length=40)
    expected_count = models.PositiveIntegerField(null=True, blank=True, help_text="slips in the paper log")
    expected_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                          help_text="cash collected by the paper log")
    note = models.TextField(blank=True, help_text="discrepancies and how they were resolved")
    lead_signed_by = models.CharField(max_length=150, blank=True)
    lead_signed_at = models.DateTimeField(null=True, blank=True)
    finance_signed_by = models.CharField(max_length=150, blank=True)
    finance_signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["department"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "department"], name="one_reconciliation"),
            models.CheckConstraint(condition=Q(expected_amount__isnull=True)
                                   | Q(expected_amount__gte=0, expected_amount__lt=Decimal("1e12")),
                                   name="expected_amount_in_range"),
            models.CheckConstraint(condition=Q(expected_count__isnull=True) | Q(expected_count__lte=2**31 - 1),
                                   name="expected_count_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.department}"

    @property
    def signed_off(self) -> bool:
        return bool(self.lead_signed_at and self.finance_signed_at)
