from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yingji.plans.models import PlanVersion


class SystemState(models.Model):
    """One row per system of the published plan: the status board (cf. HICS 251)."""

    class Status(models.TextChoices):
        UP = "up", _("Up")
        DEGRADED = "degraded", _("Degraded")
        DOWN = "down", _("Down")
        STANDALONE = "standalone", _("Stand-alone")
        MANUAL = "manual", _("Manual (paper)")

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    criticality = models.CharField(max_length=20, default="general")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UP)
    since = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey("Incident", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    position = models.PositiveIntegerField(default=0)
    in_plan = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.status}"


class Incident(models.Model):
    class Status(models.TextChoices):
        REPORTED = "reported", _("Reported")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ON_SITE = "on_site", _("Engineer on site")
        ACTIVATED = "activated", _("Plan activated")
        RESTORED = "restored", _("Restored")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")
        MERGED = "merged", _("Merged")

    OPEN = (Status.REPORTED, Status.ACKNOWLEDGED, Status.ON_SITE, Status.ACTIVATED)
    ENDED = (Status.CLOSED, Status.CANCELLED, Status.MERGED)

    class Scope(models.TextChoices):
        TERMINAL = "terminal", _("One workstation")
        AREA = "area", _("An area (floor, switch, department)")
        PARTIAL = "partial", _("Part of the system")
        HOSPITAL = "hospital", _("Hospital-wide")

    class Cause(models.TextChoices):
        UNKNOWN = "unknown", _("Not yet known")
        HARDWARE = "hardware", _("Hardware")
        SOFTWARE = "software", _("Software")
        NETWORK = "network", _("Network")
        DATABASE = "database", _("Database")
        POWER = "power", _("Power")
        ENVIRONMENT = "environment", _("Machine-room environment")
        INTERFACE = "interface", _("Interface")
        MISUSE = "misuse", _("Operating mistake")
        SECURITY = "security", _("Security incident")
        DISASTER = "disaster", _("Fire, water or other disaster")

    class Security(models.TextChoices):
        NONE = "none", _("None suspected")
        VIRUS = "virus", _("Virus or malware")
        INTRUSION = "intrusion", _("Intrusion")
        RANSOMWARE = "ransomware", _("Ransomware")
        DATA_LEAK = "data_leak", _("Personal data leak")
        DDOS = "ddos", _("Denial of service")
        TAMPERING = "tampering", _("Data tampered with or forged")
        CONTENT = "content", _("Harmful content published")

    number = models.CharField(max_length=24, unique=True)
    plan_version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="incidents")
    system = models.CharField(max_length=40, db_index=True)
    title = models.CharField(max_length=300)
    location = models.CharField(max_length=200, blank=True)
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.TERMINAL)
    cause = models.CharField(max_length=12, choices=Cause.choices, default=Cause.UNKNOWN)
    security = models.CharField(max_length=12, choices=Security.choices, default=Security.NONE)
    # What went wrong as the plan names it (grading.faults: a deleted price list); "" when not said.
    fault = models.CharField(max_length=40, blank=True)
    patients_affected = models.PositiveIntegerField(default=0)
    security_suspected = models.BooleanField(default=False)
    extra_systems = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.REPORTED)
    plan_active = models.BooleanField(default=False)
    activation_level = models.CharField(max_length=40, blank=True)
    # Current grade per scheme; overrides (with reason and who) win over computed grades.
    fault_class = models.CharField(max_length=40, blank=True)
    response_level = models.CharField(max_length=40, blank=True)
    duration_level = models.CharField(max_length=40, blank=True)
    category = models.CharField(max_length=40, blank=True)
    national_grade = models.CharField(max_length=40, blank=True)
    scope_level = models.CharField(max_length=40, blank=True)
    event_type = models.CharField(max_length=40, blank=True)
    grade_overrides = models.JSONField(default=dict, blank=True)
    # Grades raised because the fix deadline passed: the rules may grade higher, never lower.
    raised = models.JSONField(default=dict, blank=True)
    reports_count = models.PositiveIntegerField(default=0)
    reported_at = models.DateTimeField(db_index=True)
    last_report_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    on_site_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    stood_down_at = models.DateTimeField(null=True, blank=True)
    restored_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="merged_incidents")
    is_drill = models.BooleanField(default=False)

    class Meta:
        ordering = ["-reported_at"]
        indexes = [
            models.Index(fields=["status", "system"]),
            models.Index(fields=["system", "-last_report_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.system} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def grades(self) -> dict[str, str]:
        from yingji.plans.schema import SCHEME_ORDER

        return {name: getattr(self, name) for name in SCHEME_ORDER}

    def systems(self) -> list[str]:
        return [self.system, *[s for s in self.extra_systems if s != self.system]]


class Report(models.Model):
    """One fault report as the reporter sent it. Never deleted; merged reports point at the
    incident they joined, so every reporter can be told when it is fixed.

    A report from the form or the API is stored first (the intake: reference number, access key,
    what was said) and answered at once; the worker then merges it (`incident` set, `joined` if
    it joined an open incident), grades and pages. Until then `incident` is empty."""

    class Channel(models.TextChoices):
        WEB = "web", _("Report form")
        API = "api", _("API")
        PHONE = "phone", _("Phone call logged by the information center")
        MONITOR = "monitor", _("Monitoring alert")

    number = models.CharField(max_length=24, unique=True)
    access_key = models.CharField(max_length=32, unique=True)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="reports")
    plan_version = models.ForeignKey(PlanVersion, null=True, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=150, blank=True)  # who sent it, as the audit chain names them
    joined = models.BooleanField(default=False)  # merged into an incident that was already open
    merge_error = models.TextField(blank=True)  # a merge that failed for a reason other than the database
    system = models.CharField(max_length=40)
    symptom = models.CharField(max_length=500)
    location = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    reporter_name = models.CharField(max_length=100, blank=True)
    department = models.CharField(max_length=40, blank=True)
    patients_affected = models.PositiveIntegerField(default=0)
    security_suspected = models.BooleanField(default=False)
    scope = models.CharField(max_length=12, choices=Incident.Scope.choices, blank=True)
    fault = models.CharField(max_length=40, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.WEB)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="reports")
    logged_by = models.CharField(max_length=150, blank=True)
    reported_at = models.DateTimeField()
    told_restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["reported_at"]
        indexes = [models.Index(fields=["id"], condition=models.Q(incident__isnull=True, merge_error=""),
                                name="report_to_merge")]

    def __str__(self) -> str:
        return self.number


class DepartmentTask(models.Model):
    """What one department must do for an activated incident: acknowledge, then its checklist.
    A scenario's checklist (医保 failure, power, virus...) is a task with `scenario` set."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="tasks")
    department = models.CharField(max_length=40, blank=True)
    scenario = models.CharField(max_length=40, blank=True)
    name = models.CharField(max_length=200)
    ack_due_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "department", "scenario"], name="one_task_per_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.incident.number} {self.department or self.scenario}"


class DowntimeMode(models.Model):
    """A department working in a downtime mode (stand-alone, paper) because a system is down."""

    class Mode(models.TextChoices):
        READ_ONLY = "read_only", _("Read-only")
        STANDALONE = "standalone", _("Stand-alone")
        MANUAL = "manual", _("Manual (paper)")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="modes")
    system = models.CharField(max_length=40)
    department = models.CharField(max_length=40)
    mode = models.CharField(max_length=12, choices=Mode.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    declared_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.department} {self.mode}"


class Bulletin(models.Model):
    """A notice for patients and staff, such as the 医保网络故障 sign: shown on every page and on
    the lobby screen until it is lowered or the incident is restored."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="bulletins")
    scenario = models.CharField(max_length=40)
    text = models.TextField()
    raised_at = models.DateTimeField()
    raised_by = models.CharField(max_length=150)
    lowered_at = models.DateTimeField(null=True, blank=True)
    lowered_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["raised_at", "id"]

    def __str__(self) -> str:
        return f"{self.scenario}: {self.text[:40]}"


class ChecklistItem(models.Model):
    class Phase(models.TextChoices):
        ON_ACTIVATION = "on_activation", _("On activation")
        DURING = "during", _("During downtime")
        AFTER_RECOVERY = "after_recovery", _("After recovery")

    task = models.ForeignKey(DepartmentTask, on_delete=models.CASCADE, related_name="items")
    phase = models.CharField(max_length=16, choices=Phase.choices)
    position = models.PositiveIntegerField()
    text = models.TextField()
    owner = models.CharField(max_length=40, blank=True, help_text="plan person code who answers for the item")
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["task_id", "id"]

    def __str__(self) -> str:
        return self.text[:40]


class Notice(models.Model):
    """An in-app message to a user (the reporter told it is fixed, for instance)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=32)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user}"
